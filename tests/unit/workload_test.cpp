// Workloads: rank-count independence, trace sampling, designed trace logits, clustering strength.
#include <gtest/gtest.h>

#include <cmath>
#include <set>

#include "common/error.hpp"
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

TEST(Workload, TracePairsAndRoutingDoNotDependOnTheRankSplit) {
  const ModelConfig model = small_llama();
  const CollaborationMatrix pairs =
      parse_collaboration_matrix(reference("llama-moe-3.5b-c2r-topt2.json"), "t2").layers[9];
  const CollaborativeList list =
      parse_collaborative_list(reference("llama-moe-3.5b-collaborative-list.json"), "l").layers[9];
  const WorkloadSpec spec{WorkloadKind::kTrace, 12, 0, 0};
  const TokenBatch whole = make_trace_batch(model, spec, 9, pairs, &list, 2, 0, 200);
  const TokenBatch part = make_trace_batch(model, spec, 9, pairs, &list, 2, 100, 50);
  EXPECT_EQ(part.first_token, 100);
  EXPECT_EQ(part.tokens, 50);
  EXPECT_EQ(part.trace_pair,
            std::vector<int32_t>(whole.trace_pair.begin() + 200, whole.trace_pair.begin() + 300));
  EXPECT_EQ(part.x, std::vector<float>(whole.x.begin() + 100 * model.hidden,
                                       whole.x.begin() + 150 * model.hidden));
  // Three ranks of different sizes give the same routing as one.
  const GateSpec gate = GateSpec::c2r(8, 2, 2, model.gate_weights, list);
  const std::vector<int32_t> one = route(whole, model, gate);
  std::vector<int32_t> split;
  for (auto [first, count] : {std::pair<int64_t, int64_t>{0, 70}, {70, 31}, {101, 99}}) {
    const auto ids =
        route(make_trace_batch(model, spec, 9, pairs, &list, 2, first, count), model, gate);
    split.insert(split.end(), ids.begin(), ids.end());
  }
  EXPECT_EQ(split, one);
  // Another seed or another layer gives other tokens.
  const WorkloadSpec other{WorkloadKind::kTrace, 13, 0, 0};
  EXPECT_NE(make_trace_batch(model, other, 9, pairs, &list, 2, 0, 200).trace_pair,
            whole.trace_pair);
  EXPECT_NE(make_trace_batch(model, spec, 8, pairs, &list, 2, 0, 200).x, whole.x);
}

TEST(Workload, SyntheticTokensAreNotAllZeroAndDependOnTheSeed) {
  const ModelConfig model = small_llama();
  for (WorkloadKind kind : {WorkloadKind::kRandom, WorkloadKind::kClustered}) {
    WorkloadSpec spec;
    spec.kind = kind;
    spec.seed = 3;
    const TokenBatch a = make_synthetic_batch(model, spec, 0, 0, 40);
    spec.seed = 4;
    const TokenBatch b = make_synthetic_batch(model, spec, 0, 0, 40);
    ASSERT_EQ(a.x.size(), 40u * 64);
    ASSERT_EQ(a.w_router.size(), 64u * 8);
    EXPECT_TRUE(a.trace_pair.empty());
    EXPECT_TRUE(a.w_shared_gate.empty());  // LLaMA-MoE has no shared expert
    double norm = 0;
    for (float v : a.x) norm += v * v;
    EXPECT_NEAR(norm / a.x.size(), 1.0, 0.2) << to_string(kind);  // unit-variance hidden states
    EXPECT_NE(a.x, b.x);
    EXPECT_NE(a.w_router, b.w_router);
  }
}

TEST(Workload, C2rTracePairFrequenciesMatchTheMatrix) {
  // A Top-T = 1 matrix: few pairs carry most tokens. Chi-square over the non-zero pairs.
  const ModelConfig model = small_llama();
  const int layer = 20;
  const CollaborationMatrix pairs =
      parse_collaboration_matrix(reference("llama-moe-3.5b-c2r-topt1.json"), "t1").layers[layer];
  const CollaborativeList list =
      parse_collaborative_list(reference("llama-moe-3.5b-collaborative-list.json"), "l")
          .layers[layer];
  const int64_t tokens = 20000;
  const TokenBatch batch = make_trace_batch(model, WorkloadSpec{WorkloadKind::kTrace, 8, 0, 0},
                                            layer, pairs, &list, 1, 0, tokens);
  const CollaborationMatrix seen = coactivation_counts(batch.trace_pair, 2, 8);
  const double total = pairs.total() / 2;
  double chi2 = 0;
  int cells = 0;
  for (int i = 0; i < 8; ++i) {
    for (int j = i + 1; j < 8; ++j) {
      const double p = pairs.at(i, j) / total;
      if (p == 0) {
        EXPECT_EQ(seen.at(i, j), 0)
            << "a pair the matrix never routes was drawn: " << i << "," << j;
        continue;
      }
      const double expected = p * tokens;
      chi2 += (seen.at(i, j) - expected) * (seen.at(i, j) - expected) / expected;
      ++cells;
      const double sigma = std::sqrt(p * (1 - p) / tokens);
      EXPECT_NEAR(seen.at(i, j) / tokens, p, 4 * sigma + 1e-4) << i << "," << j;
    }
  }
  ASSERT_GT(cells, 1);
  // chi-square with cells-1 degrees of freedom: mean df, sd sqrt(2 df); 6 sd is far out.
  EXPECT_LT(chi2, (cells - 1) + 6 * std::sqrt(2.0 * (cells - 1))) << cells << " pairs";
  // Every sampled pair is oriented so that C2R (T = 1) can choose it: e2 = Top-1(e1).
  for (int64_t t = 0; t < tokens; ++t) {
    ASSERT_EQ(batch.trace_pair[2 * t + 1], list.top_t(batch.trace_pair[2 * t], 1)[0]) << t;
  }
}

TEST(Workload, TraceLogitsSelectTheSampledPairForEveryTopTAndSeveralLayers) {
  const ModelConfig model = small_llama();
  const LayerCollaborativeLists lists =
      parse_collaborative_list(reference("llama-moe-3.5b-collaborative-list.json"), "l");
  const LayerCollaboration vanilla =
      parse_collaboration_matrix(reference("llama-moe-3.5b-vanilla.json"), "v");
  for (int layer : {0, 15, 31}) {
    const WorkloadSpec spec{WorkloadKind::kTrace, 17, 0, 0};
    const TokenBatch v =
        make_trace_batch(model, spec, layer, vanilla.layers[layer], nullptr, 0, 0, 500);
    EXPECT_EQ(route(v, model, GateSpec::vanilla(8, 2, model.gate_weights)), v.trace_pair)
        << "vanilla layer " << layer;
    for (int top_t = 1; top_t <= 6; ++top_t) {
      const std::string file = "llama-moe-3.5b-c2r-topt" + std::to_string(top_t) + ".json";
      const CollaborationMatrix pairs =
          parse_collaboration_matrix(reference(file), file).layers[layer];
      const CollaborativeList& list = lists.layers[layer];
      const TokenBatch batch = make_trace_batch(model, spec, layer, pairs, &list, top_t, 0, 500);
      EXPECT_EQ(route(batch, model, GateSpec::c2r(8, 2, top_t, model.gate_weights, list)),
                batch.trace_pair)
          << file << " layer " << layer;
    }
  }
}

TEST(Workload, TraceRejectsModelsItCannotRepresent) {
  const CollaborationMatrix pairs =
      parse_collaboration_matrix(reference("llama-moe-3.5b-vanilla.json"), "v").layers[0];
  ModelOverrides o;
  o.hidden = 64;
  o.ffn = 32;
  o.top_k = 3;
  const WorkloadSpec spec{WorkloadKind::kTrace, 1, 0, 0};
  EXPECT_THROW(make_trace_batch(make_model("llama-moe-3.5b", o), spec, 0, pairs, nullptr, 0, 0, 4),
               Error);  // top-3
  o.top_k.reset();
  o.experts = 16;
  EXPECT_THROW(make_trace_batch(make_model("llama-moe-3.5b", o), spec, 0, pairs, nullptr, 0, 0, 4),
               Error);  // 16 experts, 8 in the data
  o.experts.reset();
  o.hidden = 4;
  EXPECT_THROW(make_trace_batch(make_model("llama-moe-3.5b", o), spec, 0, pairs, nullptr, 0, 0, 4),
               Error);  // hidden < experts
  CollaborationMatrix empty(8);
  EXPECT_THROW(make_trace_batch(small_llama(), spec, 0, empty, nullptr, 0, 0, 4), Error);
}

TEST(Workload, ClusteredGroupsAreBalancedAndStrengthRaisesCoactivationInsideThem) {
  const ModelConfig model = small_llama();
  const auto group = clustered_expert_groups(8, 4, 9, 0);
  std::vector<int> size(4, 0);
  for (int g : group) ++size[g];
  EXPECT_EQ(size, (std::vector<int>{2, 2, 2, 2}));
  auto inside_share = [&](double strength) {
    const WorkloadSpec spec{WorkloadKind::kClustered, 9, 4, strength};
    const TokenBatch batch = make_synthetic_batch(model, spec, 0, 0, 2000);
    const CollaborationMatrix m =
        coactivation_counts(route(batch, model, GateSpec::vanilla(8, 2, model.gate_weights)), 2, 8);
    double inside = 0;
    for (int i = 0; i < 8; ++i) {
      for (int j = 0; j < 8; ++j) inside += group[i] == group[j] ? m.at(i, j) : 0;
    }
    return inside / m.total();
  };
  const double none = inside_share(0.0), strong = inside_share(6.0);
  EXPECT_GT(strong, none + 0.5) << "strength 0: " << none << ", strength 6: " << strong;
}

TEST(Workload, HotExpertsReceiveEveryToken) {
  // 60 experts, top-4 (Qwen's shape): with N hot experts every token picks min(N, k) of them.
  ModelOverrides o;
  o.hidden = 64;
  o.ffn = 32;
  const ModelConfig model = make_model("qwen1.5-moe-a2.7b", o);
  for (int hot : {1, 2, 4}) {
    WorkloadSpec spec;
    spec.kind = WorkloadKind::kHot;
    spec.seed = 7;
    spec.hot_experts = hot;
    const TokenBatch batch = make_synthetic_batch(model, spec, 0, 0, 500);
    const std::vector<int32_t> ids =
        route(batch, model, GateSpec::vanilla(model.experts, model.top_k, model.gate_weights));
    for (int64_t t = 0; t < batch.tokens; ++t) {
      int chosen_hot = 0;
      for (int j = 0; j < model.top_k; ++j) chosen_hot += ids[t * model.top_k + j] < hot;
      ASSERT_EQ(chosen_hot, std::min(hot, model.top_k)) << "token " << t << ", " << hot << " hot";
    }
  }
  // The other experts are still chosen, not always the same ones.
  WorkloadSpec spec;
  spec.kind = WorkloadKind::kHot;
  const TokenBatch batch = make_synthetic_batch(model, spec, 0, 0, 500);
  const std::vector<int32_t> ids =
      route(batch, model, GateSpec::vanilla(model.experts, model.top_k, model.gate_weights));
  std::set<int32_t> others;
  for (int32_t e : ids) {
    if (e != 0) others.insert(e);
  }
  EXPECT_GT(others.size(), 30u);
}

}  // namespace
}  // namespace c2r
