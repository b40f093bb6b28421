#include "kernels/cpu/gating.hpp"

#include <cmath>

#include "common/error.hpp"
#include "kernels/cpu/blas.hpp"
#include "kernels/cpu/selection_rules.hpp"

namespace c2r {

std::string to_string(RoutingMode mode) {
  return mode == RoutingMode::kVanilla ? "vanilla" : "c2r";
}

RoutingMode parse_routing(const std::string& name) {
  if (name == "vanilla") return RoutingMode::kVanilla;
  if (name == "c2r") return RoutingMode::kC2R;
  throw Error("unknown routing '" + name + "' (known: vanilla, c2r)");
}

GateSpec GateSpec::vanilla(int experts, int top_k, GateWeights weights) {
  GateSpec spec;
  spec.mode = RoutingMode::kVanilla;
  spec.experts = experts;
  spec.top_k = top_k;
  spec.weights = weights;
  return spec;
}

GateSpec GateSpec::c2r(int experts, int top_k, int top_t, GateWeights weights,
                       const CollaborativeList& list) {
  C2R_CHECK(top_t >= top_k - 1 && top_t <= experts - 1,
            "Top-T " << top_t << " is out of range: C2R with top-k " << top_k << " and " << experts
                     << " experts needs " << top_k - 1 << " <= T <= " << experts - 1);
  C2R_CHECK(list.experts == experts,
            "collaborative list has " << list.experts << " experts, the model has " << experts);
  GateSpec spec = vanilla(experts, top_k, weights);
  spec.mode = RoutingMode::kC2R;
  spec.top_t = top_t;
  spec.top_t_table.reserve(static_cast<size_t>(experts) * top_t);
  for (int e = 0; e < experts; ++e) {
    std::vector<int> row = list.top_t(e, top_t);
    spec.top_t_table.insert(spec.top_t_table.end(), row.begin(), row.end());
  }
  return spec;
}

void router_logits(const float* x, int64_t tokens, int hidden, const float* w_router, int experts,
                   float* logits) {
  if (tokens == 0) return;
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, static_cast<int>(tokens), experts, hidden,
              1.0f, x, hidden, w_router, experts, 0.0f, logits, experts);
}

void select_experts(const float* logits, int64_t tokens, const GateSpec& spec, int32_t* expert_ids,
                    float* weights) {
  const int k = spec.top_k;
  const int experts = spec.experts;
  int chosen[64];
  C2R_CHECK(k <= 64, "top-k above 64 is not supported");
  const bool c2r = spec.mode == RoutingMode::kC2R;
  const bool full_softmax = spec.weights == GateWeights::kFullSoftmax;
  for (int64_t t = 0; t < tokens; ++t) {
    const float* logit = logits + t * experts;
    choose_experts(logit, experts, k, c2r, spec.top_t, spec.top_t_table.data(), chosen);
    for (int j = 0; j < k; ++j) expert_ids[t * k + j] = chosen[j];
    chosen_weights(logit, experts, chosen, k, full_softmax, weights + t * k);
  }
}

}  // namespace c2r
