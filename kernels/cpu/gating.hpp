#pragma once
// Gate kernels: router GEMM, top-k and C2R expert selection, and gate weights.

#include <cstdint>
#include <string>
#include <vector>

#include "model/collaboration.hpp"
#include "model/model_config.hpp"

namespace c2r {

enum class RoutingMode { kVanilla, kC2R };

std::string to_string(RoutingMode mode);  // "vanilla", "c2r"
// Throws c2r::Error naming the known routings.
RoutingMode parse_routing(const std::string& name);

// Everything the selection kernel needs, built once outside the timed loop.
struct GateSpec {
  RoutingMode mode = RoutingMode::kVanilla;
  int experts = 0;
  int top_k = 0;
  int top_t = 0;  // C2R only
  GateWeights weights = GateWeights::kSoftmaxOverChosen;
  std::vector<int> top_t_table;  // C2R only: [experts x top_t], Top-T(e) for every expert e

  // Vanilla top-k.
  static GateSpec vanilla(int experts, int top_k, GateWeights weights);
  // C2R with Top-T taken from `list`. Throws c2r::Error unless top_k - 1 <= top_t <= experts - 1.
  static GateSpec c2r(int experts, int top_k, int top_t, GateWeights weights,
                      const CollaborativeList& list);
};

// logits[tokens x experts] = x[tokens x hidden] * w_router[hidden x experts] (row-major, BLAS).
void router_logits(const float* x, int64_t tokens, int hidden, const float* w_router, int experts,
                   float* logits);

// Chooses top_k experts per token and their gate weights.
// Vanilla: the k highest logits. C2R: e1 = argmax, then the k-1 highest within Top-T(e1).
// Ties go to the lower expert id. Output per token is ordered by descending logit (e1 first).
// expert_ids, weights: [tokens x top_k].
void select_experts(const float* logits, int64_t tokens, const GateSpec& spec, int32_t* expert_ids,
                    float* weights);

}  // namespace c2r
