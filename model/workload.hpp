#pragma once
// Seeded workloads: the hidden states and router weights of one rank's tokens for one layer.
//   random    - Gaussian hidden states and router weights.
//   clustered - experts in G latent groups; each token belongs to a group whose experts get a logit
//               boost of about `cluster_strength` router-logit standard deviations (0 = random).
//   hot       - skewed load: every token's logits for experts [0, hot_experts) get a boost of
//               kHotStrength standard deviations, so every token picks min(hot_experts, k) of them
//               (one expert receives every token, or with hot_experts = k and contiguous placement,
//               rank 0 receives everything).
//   trace     - real routing: each token's expert pair is drawn from a layer's collaboration
//               matrix (the built-in top-2 data), or its k experts are a row of a user's routing
//               trace (model/routing_trace.hpp), and hidden states are built so the router GEMM
//               selects exactly those experts, in their order.
// Token g's values depend only on (seed, layer, g), never on the rank count.

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "model/collaboration.hpp"
#include "model/model_config.hpp"

namespace c2r {

enum class WorkloadKind { kRandom, kClustered, kTrace, kHot };
WorkloadKind parse_workload(const std::string& name);
std::string to_string(WorkloadKind kind);

struct WorkloadSpec {
  WorkloadKind kind = WorkloadKind::kRandom;
  uint64_t seed = 1;
  int groups = 0;                 // clustered: latent expert groups G (0 = experts / top_k)
  double cluster_strength = 3.0;  // clustered: logit boost of the token's group, in std devs
  int hot_experts = 1;            // hot: experts every token is routed to
  std::string trace_file;         // trace: a user's routing trace (`--trace`); "" = built-in data

  // {"kind", "seed", "groups", "cluster_strength"[, "hot_experts" for hot][, "trace" for a user
  // trace: its path]}, as reports and tuning files record it.
  nlohmann::json to_json() const;
};

// The hot workload's boost, in router-logit standard deviations: far above the largest of E
// ordinary logits (about 4 for E = 256), so the hot experts win for every token.
constexpr double kHotStrength = 24.0;

// One rank's tokens [first_token, first_token + tokens) of one layer.
struct TokenBatch {
  int64_t first_token = 0;
  int64_t tokens = 0;
  std::vector<float> x;              // [tokens x hidden]
  std::vector<float> w_router;       // [hidden x experts]
  std::vector<float> w_shared_gate;  // [hidden], empty when the model has no shared expert
  std::vector<int32_t> trace_pair;   // pair trace only: [tokens x 2] the sampled experts, e1 first
  // trace only: [tokens x k] the experts the hidden states are designed for, highest logit first
  // (the pair trace's trace_pair; a user trace's rows)
  std::vector<int32_t> trace_experts;
};

// random and clustered workloads.
TokenBatch make_synthetic_batch(const ModelConfig& model, const WorkloadSpec& spec, int layer,
                                int64_t first_token, int64_t tokens);

// Trace workload of a top-2 model: pairs drawn from `pairs`. With `c2r_list`, each pair is oriented
// so that the second expert is in Top-T(first) under that list (C2R routing must be able to pick
// it).
TokenBatch make_trace_batch(const ModelConfig& model, const WorkloadSpec& spec, int layer,
                            const CollaborationMatrix& pairs, const CollaborativeList* c2r_list,
                            int top_t, int64_t first_token, int64_t tokens);

// Trace workload from given routing: `experts` [tokens x k] (k = model.top_k) are the experts of
// tokens [first_token, first_token + tokens), highest-scoring first. Router columns are orthonormal
// and each token's hidden state is x = z - Q Q^T z + Q logit, so its router logits are the designed
// `logit`: the last of its k experts gets 2 to 2.5, each one before it 0.5 to 1.5 more, every
// other expert at most 1.5 (a margin of 0.5 over rounding). Needs hidden >= experts.
TokenBatch make_designed_batch(const ModelConfig& model, const WorkloadSpec& spec, int layer,
                               std::vector<int32_t> experts, int64_t first_token, int64_t tokens);

// Tokens of `batch` whose chosen experts `expert_ids` [tokens x k] are the trace's, in its order
// (trace_experts): how many of them the gate reproduced.
int64_t count_trace_matches(const TokenBatch& batch, const std::vector<int32_t>& expert_ids,
                            int top_k);

// The expert pair of every token of the trace workload, [tokens x 2] with e1 first: the pairs
// make_trace_batch designs its hidden states for (its gate selects exactly these). The tuner uses
// it to get the routing without building hidden states.
std::vector<int32_t> sample_trace_pairs(const ModelConfig& model, const WorkloadSpec& spec,
                                        int layer, const CollaborationMatrix& pairs,
                                        const CollaborativeList* c2r_list, int top_t,
                                        int64_t first_token, int64_t tokens);

// The expert group of every expert in the clustered workload (for tests and reports).
std::vector<int> clustered_expert_groups(int experts, int groups, uint64_t seed, int layer);

}  // namespace c2r
