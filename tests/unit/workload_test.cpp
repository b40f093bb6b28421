// Workloads: rank-count independence, trace sampling, designed trace logits, clustering strength.
#include <gtest/gtest.h>

#include <cmath>

#include "common/file_io.hpp"
#include "kernels/cpu/gating.hpp"
#include "model/reference_data.hpp"
#include "model/workload.hpp"

namespace c2r {
namespace {

ModelConfig small_llama() {
  ModelOverrides o;
  o.hidden = 64;
  o.ffn = 32;
  return make_model("llama-moe-3.5b", o);
}

std::string reference(const std::string& file) {
  return read_text_file(std::string(C2R_TEST_DATA_DIR) + "/reference/" + file);
}

std::vector<int32_t> route(const TokenBatch& batch, const ModelConfig& model,
                           const GateSpec& gate) {
  std::vector<float> logits(batch.tokens * model.experts), weights(batch.tokens * model.top_k);
  std::vector<int32_t> ids(batch.tokens * model.top_k);
  router_logits(batch.x.data(), batch.tokens, model.hidden, batch.w_router.data(), model.experts,
                logits.data());
  select_experts(logits.data(), batch.tokens, gate, ids.data(), weights.data());
  return ids;
}

TEST(Workload, TokensDoNotDependOnTheRankSplit) {
  const ModelConfig model = small_llama();
  const CollaborationMatrix pairs =
      parse_collaboration_matrix(reference("llama-moe-3.5b-vanilla.json"), "v").layers[5];
  for (WorkloadKind kind :
       {WorkloadKind::kRandom, WorkloadKind::kClustered, WorkloadKind::kTrace}) {
    WorkloadSpec spec;
    spec.kind = kind;
    spec.seed = 11;
    auto make = [&](int64_t first, int64_t count) {
      return kind == WorkloadKind::kTrace
                 ? make_trace_batch(model, spec, 5, pairs, nullptr, 0, first, count)
                 : make_synthetic_batch(model, spec, 5, first, count);
    };
    const TokenBatch whole = make(0, 200), part = make(100, 50);
    for (int64_t i = 0; i < 50 * model.hidden; ++i) {
      ASSERT_EQ(part.x[i], whole.x[100 * model.hidden + i]) << to_string(kind);
    }
    EXPECT_EQ(part.w_router, whole.w_router);
  }
}

TEST(Workload, TracePairFrequenciesMatchTheMatrix) {
  const ModelConfig model = small_llama();
  const CollaborationMatrix pairs =
      parse_collaboration_matrix(reference("llama-moe-3.5b-vanilla.json"), "v").layers[0];
  const int64_t tokens = 20000;
  const TokenBatch batch = make_trace_batch(model, WorkloadSpec{WorkloadKind::kTrace, 3, 0, 0}, 0,
                                            pairs, nullptr, 0, 0, tokens);
  CollaborationMatrix seen(8);
  for (int64_t t = 0; t < tokens; ++t) {
    seen.at(batch.trace_pair[2 * t], batch.trace_pair[2 * t + 1]) += 1;
    seen.at(batch.trace_pair[2 * t + 1], batch.trace_pair[2 * t]) += 1;
  }
  const double total = pairs.total() / 2;
  for (int i = 0; i < 8; ++i) {
    for (int j = i + 1; j < 8; ++j) {
      const double p = pairs.at(i, j) / total;
      const double sigma = std::sqrt(p * (1 - p) / tokens);
      EXPECT_NEAR(seen.at(i, j) / tokens, p, 4 * sigma + 1e-4) << i << "," << j;
    }
  }
}

TEST(Workload, TraceLogitsMakeTheGateChooseTheSampledPair) {
  const ModelConfig model = small_llama();
  const LayerCollaborativeLists lists =
      parse_collaborative_list(reference("llama-moe-3.5b-collaborative-list.json"), "l");
  for (int top_t : {0, 1, 3}) {
    const std::string file = top_t == 0
                                 ? "llama-moe-3.5b-vanilla.json"
                                 : "llama-moe-3.5b-c2r-topt" + std::to_string(top_t) + ".json";
    const int layer = 7;
    const CollaborationMatrix pairs =
        parse_collaboration_matrix(reference(file), file).layers[layer];
    const CollaborativeList* list = top_t == 0 ? nullptr : &lists.layers[layer];
    const TokenBatch batch = make_trace_batch(model, WorkloadSpec{WorkloadKind::kTrace, 5, 0, 0},
                                              layer, pairs, list, top_t, 0, 2000);
    const GateSpec gate = top_t == 0 ? GateSpec::vanilla(8, 2, model.gate_weights)
                                     : GateSpec::c2r(8, 2, top_t, model.gate_weights, *list);
    EXPECT_EQ(route(batch, model, gate), batch.trace_pair) << file;
  }
}

TEST(Workload, ClusterStrengthDialsCollaborationInsideGroups) {
  const ModelConfig model = small_llama();
  auto inside_fraction = [&](double strength) {
    WorkloadSpec spec{WorkloadKind::kClustered, 9, 4, strength};
    const TokenBatch batch = make_synthetic_batch(model, spec, 0, 0, 3000);
    const auto ids = route(batch, model, GateSpec::vanilla(8, 2, model.gate_weights));
    const auto group = clustered_expert_groups(8, 4, 9, 0);
    int inside = 0;
    for (size_t t = 0; t < ids.size() / 2; ++t)
      inside += group[ids[2 * t]] == group[ids[2 * t + 1]];
    return inside / 3000.0;
  };
  const double none = inside_fraction(0.0), strong = inside_fraction(6.0);
  EXPECT_LT(none, 0.3);  // random pairs: 4 of 28 pairs are inside a group
  EXPECT_GT(strong, 0.8);
}

}  // namespace
}  // namespace c2r
