// The tuner: cost model traffic and drops on hand-checked cases, exact search against brute force
// on the LLaMA-MoE data, METIS + swap search on the Qwen lists, cluster files, tuning files.

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <numeric>
#include <set>

#include "common/error.hpp"
#include "common/file_io.hpp"
#include "common/rng.hpp"
#include "model/placement.hpp"
#include "model/reference_data.hpp"
#include "model/workload.hpp"
#include "results/stats.hpp"
#include "tuner/cost_model.hpp"
#include "tuner/search.hpp"
#include "tuner/tuning.hpp"

namespace c2r {
namespace {

// `nodes` nodes of `per_node` ranks with made-up, distinct link costs and rates.
ClusterModel test_cluster(int nodes, int per_node) {
  ClusterModel c;
  c.name = "test";
  c.origin = "described";
  c.ranks = nodes * per_node;
  for (int r = 0; r < c.ranks; ++r) c.node_of_rank.push_back(r / per_node);
  c.intra = {5e-6, 100e9};
  c.inter = {20e-6, 10e9};
  c.rates.expert_flops_per_s = 50e12;
  c.rates.router_flops_per_s = 50e12;
  c.rates.copy_Bps = 1000e9;
  return c;
}

ModelConfig test_model(int experts, int top_k) {
  ModelConfig m = make_model("llama-moe-3.5b", {});
  m.experts = experts;
  m.top_k = top_k;
  return m;
}

RoutingSample sample_of(int experts, int top_k, std::vector<int32_t> ids) {
  RoutingSample s;
  s.experts = experts;
  s.top_k = top_k;
  s.expert_ids = std::move(ids);
  return s;
}

TEST(CostModel, CountsRowsPerStrategyOnAHandCheckedCase) {
  // 2 ranks on one node, 4 experts (rank 0: {0,1}, rank 1: {2,3}), 4 tokens, top-2.
  // Tokens 0,1 on rank 0: {0,1} (both local) and {0,2} (one remote).
  // Tokens 2,3 on rank 1: {2,3} (local) and {1,3} (one remote).
  const RoutingSample sample = sample_of(4, 2, {0, 1, 0, 2, 2, 3, 1, 3});
  const ClusterModel cluster = test_cluster(1, 2);
  const ModelConfig model = test_model(4, 2);
  const std::vector<int> owner = {0, 0, 1, 1};
  const double hidden_bytes = model.hidden * 4.0;

  const Prediction dropless =
      CostModel(cluster, model, 2, find_strategy("dropless"), 1.0, 4).predict(sample, owner);
  EXPECT_DOUBLE_EQ(dropless.remote_bytes, 2 * 2 * hidden_bytes);  // 2 rows, out and back
  EXPECT_DOUBLE_EQ(dropless.rank_imbalance, 1.0);                 // 4 pairs per rank

  const Prediction dedup =
      CostModel(cluster, model, 2, find_strategy("dedup"), 1.0, 4).predict(sample, owner);
  EXPECT_DOUBLE_EQ(dedup.remote_bytes, 2 * ((model.hidden + 4) * 4.0 + hidden_bytes));

  // Every token picks rank 0's experts {0,1}: rank 1's two tokens send both pairs to rank 0.
  const RoutingSample skewed = sample_of(4, 2, {0, 1, 0, 1, 0, 1, 0, 1});
  const Prediction p =
      CostModel(cluster, model, 2, find_strategy("dropless"), 1.0, 4).predict(skewed, owner);
  EXPECT_DOUBLE_EQ(p.rank_imbalance, 2.0);
  EXPECT_DOUBLE_EQ(p.remote_bytes, 2 * 4 * hidden_bytes);  // rank 1's 4 pairs out and back
  const Prediction d =
      CostModel(cluster, model, 2, find_strategy("dedup"), 1.0, 4).predict(skewed, owner);
  EXPECT_DOUBLE_EQ(d.remote_bytes, 2 * ((model.hidden + 4) * 4.0 + hidden_bytes));
  // The busiest rank computes all 8 pairs at the cluster's rate.
  const double expected = 8 * 6.0 * model.hidden * model.ffn / 50e12;
  EXPECT_NEAR(d.time.expert, expected, 1e-9 * expected);
}

// The expert phase on hand-checked rows: a fixed part per local expert, the rows every rank still
// computes at the shared rate, the busiest rank's last rows at its rate alone.
TEST(CostModel, ExpertTimeChargesFixedPartsAndTheBusiestRanksLastRowsAlone) {
  ClusterModel cluster = test_cluster(1, 2);
  cluster.rates.expert_flops_per_s = 1e12;
  cluster.rates.expert_call_s = 1e-3;
  ModelConfig model = test_model(4, 2);
  model.shared_ffn = 0;
  const double row_seconds = 6.0 * model.hidden * model.ffn / 1e12;
  // 4 tokens, every pair on rank 0's experts {0,1} but one: rank 0 computes 7 rows, rank 1 one.
  const RoutingSample sample = sample_of(4, 2, {0, 1, 0, 1, 0, 1, 0, 2});
  const std::vector<int> owner = {0, 0, 1, 1};
  const CostModel shared(cluster, model, 2, find_strategy("dropless"), 1.0, 4);
  // One rate: 2 experts' fixed parts + 7 rows.
  EXPECT_NEAR(shared.predict(sample, owner).time.expert, 2e-3 + 7 * row_seconds, 1e-12);
  // Alone twice as fast: 1 row while both compute, then 6 rows alone.
  cluster.rates.expert_alone_flops_per_s = 2e12;
  const CostModel alone(cluster, model, 2, find_strategy("dropless"), 1.0, 4);
  EXPECT_NEAR(alone.predict(sample, owner).time.expert, 2e-3 + (1 + 6 / 2.0) * row_seconds, 1e-12);
  // Balanced rows never run alone: the second rate changes nothing.
  const RoutingSample balanced = sample_of(4, 2, {0, 1, 0, 2, 2, 3, 1, 3});
  EXPECT_NEAR(alone.predict(balanced, owner).time.expert,
              shared.predict(balanced, owner).time.expert, 1e-15);
}

TEST(CostModel, ScalesTheSampleToTheDeploymentsTokens) {
  const RoutingSample sample = sample_of(4, 2, {0, 1, 0, 2, 2, 3, 1, 3});
  const ClusterModel cluster = test_cluster(1, 2);
  const ModelConfig model = test_model(4, 2);
  const std::vector<int> owner = {0, 0, 1, 1};
  const Prediction small =
      CostModel(cluster, model, 2, find_strategy("dropless"), 1.0, 4).predict(sample, owner);
  const Prediction large =
      CostModel(cluster, model, 2000, find_strategy("dropless"), 1.0, 4).predict(sample, owner);
  EXPECT_DOUBLE_EQ(large.remote_bytes, 1000 * small.remote_bytes);
  EXPECT_NEAR(large.time.expert, 1000 * small.time.expert, 1e-9 * large.time.expert);
}

TEST(CostModel, PaddedDropsOverflowPerSourceAndExpert) {
  // 2 ranks, 2 tokens each, top-1, 2 experts: capacity ceil(cf * 2 * 1 / 2) = cf slots.
  const ClusterModel cluster = test_cluster(1, 2);
  const ModelConfig model = test_model(2, 1);
  // Rank 0's tokens both pick expert 0 (one over capacity 1); rank 1's pick 0 and 1.
  const RoutingSample sample = sample_of(2, 1, {0, 0, 0, 1});
  const std::vector<int> owner = {0, 1};
  EXPECT_DOUBLE_EQ(CostModel(cluster, model, 2, find_strategy("padded"), 1.0, 4)
                       .predict(sample, owner)
                       .dropped_fraction,
                   0.25);
  EXPECT_DOUBLE_EQ(CostModel(cluster, model, 2, find_strategy("padded"), 2.0, 4)
                       .predict(sample, owner)
                       .dropped_fraction,
                   0.0);
  // Padded moves capacity rows whatever the routing: 1 slot x 1 expert to the other rank.
  EXPECT_DOUBLE_EQ(CostModel(cluster, model, 2, find_strategy("padded"), 1.0, 4)
                       .predict(sample, owner)
                       .remote_bytes,
                   2 * 2 * model.hidden * 4.0);
}

TEST(CostModel, InterNodeRowsAreSlowerThanIntraNodeRows) {
  // 4 ranks on 2 nodes, 4 experts. All traffic to the same node vs all to the other node.
  const ClusterModel cluster = test_cluster(2, 2);
  const ModelConfig model = test_model(4, 1);
  std::vector<int32_t> near, far;
  for (int src = 0; src < 4; ++src) {
    for (int t = 0; t < 64; ++t) {
      const int partner = src ^ 1;       // other rank of the same node
      const int remote = (src + 2) % 4;  // a rank of the other node
      near.push_back(partner);           // expert e lives on rank e
      far.push_back(remote);
    }
  }
  const std::vector<int> owner = {0, 1, 2, 3};
  const CostModel m(cluster, model, 64, find_strategy("dropless"), 1.0, 256);
  const Prediction a = m.predict(sample_of(4, 1, near), owner);
  const Prediction b = m.predict(sample_of(4, 1, far), owner);
  EXPECT_DOUBLE_EQ(a.remote_bytes, b.remote_bytes);
  // Every rank sends and receives 64 rows; the counts all2all costs the larger latency.
  const double bytes = 64 * model.hidden * 4.0;
  EXPECT_NEAR(a.time.dispatch, 20e-6 + 5e-6 + bytes / 100e9, 1e-12);
  EXPECT_NEAR(b.time.dispatch, 20e-6 + 20e-6 + bytes / 10e9, 1e-12);
}

TEST(CostModel, RejectsWhatItCannotModel) {
  const RoutingSample sample = sample_of(4, 2, {0, 1, 0, 2, 2, 3, 1, 3});
  EXPECT_THROW(
      CostModel(test_cluster(1, 3), test_model(4, 2), 2, find_strategy("dropless"), 1.0, 4), Error);
  EXPECT_THROW(
      CostModel(test_cluster(1, 2), test_model(4, 2), 2, find_strategy("dropless"), 1.0, 1), Error);
  ClusterModel no_rate = test_cluster(1, 2);
  no_rate.rates.expert_flops_per_s = 0;
  EXPECT_THROW(CostModel(no_rate, test_model(4, 2), 2, find_strategy("dropless"), 1.0, 4), Error);
}

// Brute force, independent of the search's enumeration: every one of the R^E assignments of
// experts to ranks (a mixed-radix counter), the balanced ones kept.
void for_each_labelled_placement(int experts, int ranks,
                                 const std::function<void(const std::vector<int>&)>& visit) {
  std::vector<int> owner(experts, 0);
  for (;;) {
    std::vector<int> count(ranks, 0);
    for (int r : owner) ++count[r];
    if (std::all_of(count.begin(), count.end(), [&](int c) { return c == experts / ranks; })) {
      visit(owner);
    }
    int digit = 0;
    while (digit < experts && ++owner[digit] == ranks) owner[digit++] = 0;
    if (digit == experts) return;
  }
}

TEST(Search, ExhaustiveEqualsBruteForceOnEveryLlamaLayerAtTwoAndFourRanks) {
  const std::string file = "llama-moe-3.5b-c2r-topt1.json";
  const LayerCollaboration data = parse_collaboration_matrix(
      read_text_file(std::string(C2R_TEST_DATA_DIR) + "/reference/" + file), file);
  const ModelConfig model = make_model("llama-moe-3.5b", {});
  WorkloadSpec spec;
  for (int ranks : {2, 4}) {
    const ClusterModel cluster = test_cluster(1, ranks);
    for (int layer = 0; layer < static_cast<int>(data.layers.size()); ++layer) {
      RoutingSample sample;
      sample.experts = 8;
      sample.top_k = 2;
      sample.expert_ids =
          sample_trace_pairs(model, spec, layer, data.layers[layer], nullptr, 0, 0, 512 * ranks);
      for (const char* kind : {"dropless", "dedup"}) {
        const CostModel cost(cluster, model, 512, find_strategy(kind), 1.0, sample.tokens());
        const SearchResult found = search_placement(cost, sample, SearchOptions{});
        ASSERT_EQ(found.method, "exhaustive");
        double best = INFINITY;
        for_each_labelled_placement(8, ranks, [&](const std::vector<int>& owner) {
          best = std::min(best, cost.predict(sample, owner).objective);
        });
        EXPECT_NEAR(found.prediction.objective, best, 1e-12 * best)
            << "layer " << layer << " ranks " << ranks;
      }
    }
  }
}

TEST(Search, EnumeratesEveryBalancedPlacementOnce) {
  std::set<std::vector<int>> seen;
  for_each_balanced_placement(8, 4, [&](const std::vector<int>& owner) {
    EXPECT_TRUE(seen.insert(owner).second);
    std::vector<int> count(4, 0);
    for (int r : owner) ++count[r];
    EXPECT_EQ(count, std::vector<int>(4, 2));
  });
  EXPECT_EQ(seen.size(), 2520u);  // 8! / 2!^4
  EXPECT_DOUBLE_EQ(balanced_placement_count(8, 4), 2520.0);
  EXPECT_DOUBLE_EQ(balanced_placement_count(8, 2), 70.0);
}

TEST(Search, ExhaustiveAcrossNodesEqualsBruteForce) {
  // 2 nodes x 2 ranks, 8 experts, neighbour-heavy routing.
  const ClusterModel cluster = test_cluster(2, 2);
  const ModelConfig model = test_model(8, 2);
  RoutingSample sample;
  sample.experts = 8;
  sample.top_k = 2;
  for (int t = 0; t < 400; ++t) {
    Rng rng(3, Stream::kTracePair, t);
    const int a = static_cast<int>(rng.below(8));
    const int b = (a + 1 + static_cast<int>(rng.below(2))) % 8;
    sample.expert_ids.push_back(a);
    sample.expert_ids.push_back(b);
  }
  const CostModel cost(cluster, model, 100, find_strategy("dedup"), 1.0, sample.tokens());
  double best = INFINITY;
  for_each_labelled_placement(8, 4, [&](const std::vector<int>& owner) {
    best = std::min(best, cost.predict(sample, owner).objective);
  });
  const SearchResult found = search_placement(cost, sample, SearchOptions{});
  EXPECT_EQ(found.method, "exhaustive");
  EXPECT_NEAR(found.prediction.objective, best, 1e-12 * best);
}

// Qwen-like routing from the published lists: e1 uniform, the other k-1 from Top-T(e1).
RoutingSample qwen_list_sample(const CollaborativeList& list, int tokens, int top_t) {
  RoutingSample s;
  s.experts = 60;
  s.top_k = 4;
  for (int t = 0; t < tokens; ++t) {
    Rng rng(11, Stream::kTracePair, t);
    const int e1 = static_cast<int>(rng.below(60));
    std::vector<int> chosen = {e1};
    const std::vector<int> allowed = list.top_t(e1, top_t);
    while (chosen.size() < 4) {
      const int e = allowed[rng.below(allowed.size())];
      if (std::find(chosen.begin(), chosen.end(), e) == chosen.end()) chosen.push_back(e);
    }
    s.expert_ids.insert(s.expert_ids.end(), chosen.begin(), chosen.end());
  }
  return s;
}

TEST(Search, MetisAndSwapsBeatContiguousOnQwenListsForManyRankCounts) {
  const std::string file = "qwen1.5-moe-a2.7b-collaborative-list.json";
  const LayerCollaborativeLists lists = parse_collaborative_list(
      read_text_file(std::string(C2R_TEST_DATA_DIR) + "/reference/" + file), file);
  const ModelConfig model = make_model("qwen1.5-moe-a2.7b", {});
  for (int ranks : {4, 6, 10, 12, 20, 30}) {
    const ClusterModel cluster = test_cluster(1, ranks);
    const RoutingSample sample = qwen_list_sample(lists.layers[5], 300 * ranks, 8);
    const CostModel cost(cluster, model, 1024, find_strategy("dedup"), 1.0, sample.tokens());
    const SearchResult found = search_placement(cost, sample, SearchOptions{});
    EXPECT_EQ(found.method, "metis+swap");
    EXPECT_EQ(found.warning, "") << ranks;  // METIS partitioned: the start is METIS's
    const Placement placed("tuned", found.expert_rank, ranks);  // throws unless balanced
    const double contiguous =
        cost.predict(sample, contiguous_placement(60, ranks).expert_rank()).objective;
    EXPECT_LT(found.prediction.objective, contiguous) << ranks << " ranks";
    EXPECT_LE(found.prediction.objective, found.seed_objective * (1 + 1e-12)) << ranks;
    EXPECT_GT(found.candidates, 0);
  }
}

TEST(Search, HierarchicalMetisKeepsNodeGroupsWhole) {
  const std::string file = "qwen1.5-moe-a2.7b-collaborative-list.json";
  const LayerCollaborativeLists lists = parse_collaborative_list(
      read_text_file(std::string(C2R_TEST_DATA_DIR) + "/reference/" + file), file);
  const ClusterModel cluster = test_cluster(3, 4);  // 12 ranks: 5 experts each, 20 per node
  const RoutingSample sample = qwen_list_sample(lists.layers[0], 2400, 8);
  const std::vector<int> owner =
      metis_placement(sample.coactivation(), sample.tokens_per_expert(), cluster, 1);
  std::vector<int> per_rank(12, 0), per_node(3, 0);
  for (int r : owner) {
    ++per_rank[r];
    ++per_node[cluster.node_of_rank[r]];
  }
  EXPECT_EQ(per_rank, std::vector<int>(12, 5));
  EXPECT_EQ(per_node, std::vector<int>(3, 20));
}

TEST(Search, WorstPlacementIsWorseThanTheTunedOne) {
  const std::string file = "llama-moe-3.5b-c2r-topt1.json";
  const LayerCollaboration data = parse_collaboration_matrix(
      read_text_file(std::string(C2R_TEST_DATA_DIR) + "/reference/" + file), file);
  RoutingSample sample;
  sample.experts = 8;
  sample.top_k = 2;
  sample.expert_ids = sample_trace_pairs(make_model("llama-moe-3.5b", {}), WorkloadSpec{}, 0,
                                         data.layers[0], nullptr, 0, 0, 2048);
  const CostModel cost(test_cluster(1, 4), make_model("llama-moe-3.5b", {}), 512,
                       find_strategy("dedup"), 1.0, 2048);
  const SearchResult tuned = search_placement(cost, sample, SearchOptions{});
  const std::vector<int> worst = swap_search(cost, sample, contiguous_placement(8, 4).expert_rank(),
                                             -1, SearchOptions{}, nullptr);
  EXPECT_GT(cost.predict(sample, worst).objective, tuned.prediction.objective);
  EXPECT_GE(cost.predict(sample, worst).objective,
            cost.predict(sample, contiguous_placement(8, 4).expert_rank()).objective);
}

TEST(Search, RandomPlacementsAreBalancedAndSeeded) {
  const std::vector<int> a = random_placement(12, 3, 5), b = random_placement(12, 3, 5);
  EXPECT_EQ(a, b);
  EXPECT_NE(a, random_placement(12, 3, 6));
  EXPECT_NO_THROW(Placement("r", a, 3));
}

ValidationPoint point_with_layer(double predicted_us, double measured_us) {
  ValidationPoint p;
  for (Phase phase : kReportedPhases) {
    p.predicted.at(phase) = predicted_us;
    p.measured.at(phase) = measured_us;
  }
  return p;
}

// A point measured 0 has no relative error: it is left out of the means and counts, instead of
// counting as a perfect prediction.
TEST(Validation, ErrorsAverageOnlyPointsMeasuredAboveZero) {
  Validation v;
  v.points = {point_with_layer(110, 100), point_with_layer(80, 100), point_with_layer(300, 200)};
  v.points.push_back(point_with_layer(50, 0));
  v.points[1].measured.at(Phase::kGate) = 0;
  score_validation(v);
  // |110-100|/100, |80-100|/100, |300-200|/200: (0.1 + 0.2 + 0.5) / 3.
  EXPECT_NEAR(v.mean_abs_error.at("layer"), 0.8 / 3, 1e-12);
  EXPECT_EQ(v.error_points.at("layer"), 3);
  EXPECT_NEAR(v.mean_abs_error.at("gate"), 0.3, 1e-12);
  EXPECT_EQ(v.error_points.at("gate"), 2);
  // Ranks of the three measured layers: predicted (2, 1, 3), measured (2, 2, 3) with a tie.
  EXPECT_NEAR(v.spearman_layer, spearman({110, 80, 300}, {100, 100, 200}), 1e-12);
  EXPECT_FALSE(v.met);  // error 27% > 20%

  Validation good;
  good.points = {point_with_layer(105, 100), point_with_layer(190, 200),
                 point_with_layer(290, 300)};
  score_validation(good);
  EXPECT_DOUBLE_EQ(good.spearman_layer, 1.0);
  EXPECT_TRUE(good.met);

  Validation unmeasured;
  unmeasured.points = {point_with_layer(1, 0)};
  score_validation(unmeasured);
  EXPECT_EQ(unmeasured.error_points.at("layer"), 0);
  EXPECT_TRUE(std::isnan(unmeasured.mean_abs_error.at("layer")));
  EXPECT_FALSE(unmeasured.met);
}

TEST(Stats, SpearmanOnKnownSeries) {
  EXPECT_DOUBLE_EQ(spearman({1, 2, 3, 4}, {10, 20, 30, 40}), 1.0);
  EXPECT_DOUBLE_EQ(spearman({1, 2, 3, 4}, {4, 3, 2, 1}), -1.0);
  EXPECT_EQ(fractional_ranks({3, 1, 3, 2}), (std::vector<double>{3.5, 1, 3.5, 2}));
  // d = (0, 0, 1, -1): rho = 1 - 6 * 2 / (4 * 15) = 0.8 (no ties).
  EXPECT_NEAR(spearman({1, 2, 3, 4}, {1, 2, 4, 3}), 0.8, 1e-12);
  EXPECT_DOUBLE_EQ(spearman({1, 1, 1}, {1, 2, 3}), 0.0);
  EXPECT_THROW(spearman({1, 2}, {1}), Error);
}

TEST(ClusterSpec, ShippedExamplesParse) {
  for (const char* name : {"dgx-h100-8x8.json", "dgx-h100-128x8.json", "dgx-a100-16x8.json"}) {
    const std::string path = std::string(C2R_TEST_EXAMPLES_DIR) + "/clusters/" + name;
    const std::string text = read_text_file(path);
    ASSERT_TRUE(is_cluster_spec(text)) << name;
    const ClusterModel c = parse_cluster_spec(text, path);
    EXPECT_GE(c.ranks, 64) << name;
    EXPECT_EQ(c.nodes(), c.ranks / 8) << name;
    EXPECT_GT(c.inter.bandwidth_Bps, 0) << name;
    EXPECT_LT(c.inter.bandwidth_Bps, c.intra.bandwidth_Bps) << name;
    EXPECT_GE(c.sources.size(), 4u) << name;
  }
}

TEST(ClusterSpec, RejectsBadFilesByName) {
  const std::string good =
      R"({"schema":"c2rbench.cluster-spec","schema_version":1,"nodes":2,"gpus_per_node":4,
          "intra_node":{"latency_us":5,"bandwidth_GBps":100},
          "inter_node":{"latency_us":10,"bandwidth_GBps":20},
          "expert_gemm_tflops":100,"memory_GBps":1000})";
  EXPECT_EQ(parse_cluster_spec(good, "c.json").ranks, 8);
  auto message = [](const std::string& text) {
    try {
      parse_cluster_spec(text, "c.json");
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_NE(message(good.substr(0, 40)).find("c.json: malformed JSON"), std::string::npos);
  std::string no_inter = good;
  no_inter.replace(no_inter.find("\"inter_node\""), 12, "\"inter_nodX\"");
  EXPECT_NE(message(no_inter).find("missing \"inter_node\""), std::string::npos);
  std::string negative = good;
  negative.replace(negative.find("\"bandwidth_GBps\":100"), 20, "\"bandwidth_GBps\":-1 ");
  EXPECT_NE(message(negative).find("must be positive"), std::string::npos);
  EXPECT_NE(message(R"({"schema":"c2rbench.cluster","schema_version":1})")
                .find("not a described cluster"),
            std::string::npos);
  std::string fractional = good;
  fractional.replace(fractional.find("\"nodes\":2"), 9, "\"nodes\":2.5");
  EXPECT_NE(message(fractional).find("whole numbers"), std::string::npos);
}

TEST(TuningFile, IsAPlacementFileForItsModelOnly) {
  const std::string text =
      R"({"schema":"c2rbench.tuning","schema_version":1,"model":{"preset":"llama-moe-3.5b"},
          "experts":8,"ranks":2,"layers":[{"layer":3,"expert_rank":[0,1,0,1,0,1,0,1]}]})";
  const PlacementFile file = parse_placement_file(text, "t.json");
  EXPECT_EQ(file.model, "llama-moe-3.5b");
  EXPECT_EQ(file.for_layer(3, 8, 2, "llama-moe-3.5b").expert_rank(),
            (std::vector<int>{0, 1, 0, 1, 0, 1, 0, 1}));
  try {
    file.for_layer(3, 8, 2, "qwen1.5-moe-a2.7b");
    FAIL() << "a tuning file for another model was accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("tuning file is for model llama-moe-3.5b"),
              std::string::npos);
  }
  EXPECT_THROW(file.for_layer(4, 8, 2, "llama-moe-3.5b"), Error);  // no such layer
  EXPECT_THROW(parse_placement_file(
                   R"({"schema":"c2rbench.tuning","schema_version":1,"experts":8,"ranks":2,
                       "layers":[]})",
                   "t.json"),
               Error);  // no model
}

// A Tuning as `tune` builds it: the tuner's choices over one layer, with the tuner's own echoes,
// written as the file holds them and read back unchanged.
TEST(TuningFile, TunerOutputReadsBack) {
  const ClusterModel cluster = test_cluster(1, 2);
  const ModelConfig model = test_model(2, 1);
  TunedRouting vanilla;
  vanilla.sample = sample_of(2, 1, {0, 0, 0, 1, 0, 1, 0, 1});
  vanilla.search.expert_rank = {0, 1};
  vanilla.search.method = "exhaustive";
  vanilla.search.candidates = 1;
  const CostModel cost(cluster, model, 4, baseline_strategy(), 1.0, 8);
  vanilla.search.prediction = cost.predict(vanilla.sample, vanilla.search.expert_rank);
  vanilla.contiguous = vanilla.search.prediction;
  TunedLayer layer;
  layer.layer = 3;
  layer.baseline = vanilla.search.prediction;
  layer.routings = {vanilla};
  const TopTChoice choice = choose_top_t({layer}, 1.5);
  const CapacityChoice capacity =
      choose_capacity({layer}, 0, cluster, model, 4, 8, {1.0, 2.0}, 0.0);
  // Two replicas put both experts on both ranks: no row leaves its rank, which the tuner takes.
  const ReplicaChoice replicas =
      choose_replicas({layer}, 0, cost, {0, 2}, eplb_shape_of(cluster, 2));
  ASSERT_EQ(replicas.replicas, 2);
  const Tuning tuning =
      make_tuning({4, "dedup", 1.5, 0.0}, model, WorkloadSpec{}, cluster, nlohmann::json(), {layer},
                  choice, capacity, choose_overlap({layer}, 0, cost, {1, 2}), replicas);
  const nlohmann::json written = to_json(tuning);
  EXPECT_EQ(written["replica_table"].size(), 2u);
  EXPECT_EQ(written["replicas"], 2);
  EXPECT_EQ(written["layers"][0]["rank_experts"], nlohmann::json(replicas.layers[0].rank_experts));
  EXPECT_EQ(written["layers"][0]["expert_rank"], nlohmann::json(vanilla.search.expert_rank));
  EXPECT_EQ(written["cluster"], cluster.to_json());
  EXPECT_EQ(written["layers"][0]["predicted"]["tuned"], replicas.layers[0].prediction.to_json());
  // As a placement file, the layer is the replicated placement `run` uses.
  EXPECT_TRUE(parse_placement_file(written.dump(), "t.json").for_layer(3, 2, 2).replicated());
  EXPECT_TRUE(written["top_t"].is_null());
  EXPECT_EQ(written["overlap_table"].size(), 2u);
  EXPECT_EQ(to_json(tuning_from_json(nlohmann::json::parse(written.dump(1)), "t.json")), written);
}

// Replicas in the cost model: the pairs go where `run` routes them, so replicating the hot expert
// of a skewed sample spreads its rows, and the prediction of a placement without replicas is the
// one-rank prediction.
TEST(CostModel, ReplicasSpreadAHotExpertsRows) {
  const ModelConfig model = test_model(4, 2);
  RoutingSample sample;
  sample.experts = 4;
  sample.top_k = 2;
  for (int t = 0; t < 64; ++t) {  // expert 0 in every token
    sample.expert_ids.push_back(0);
    sample.expert_ids.push_back(1 + t % 3);
  }
  const ClusterModel cluster = test_cluster(1, 2);
  const CostModel cost(cluster, model, 256, baseline_strategy(), 1.0, 64);
  const Placement plain("p", std::vector<int>{0, 0, 1, 1}, 2);
  EXPECT_EQ(cost.predict(sample, plain).objective,
            cost.predict(sample, plain.expert_rank()).objective);
  const Placement replicated("r", {{0, 1, 0}, {2, 3, 0}}, 4);
  const Prediction one = cost.predict(sample, plain);
  const Prediction two = cost.predict(sample, replicated);
  EXPECT_GT(one.rank_imbalance, 1.3);  // rank 0 computes expert 0's 64 rows and expert 1's
  EXPECT_LT(two.rank_imbalance, one.rank_imbalance);
  EXPECT_LT(two.time.expert, one.time.expert);
  // Each rank keeps its own expert-0 pairs: fewer rows leave their rank.
  EXPECT_LT(two.remote_bytes, one.remote_bytes);
  // The tuner's replicas: EPLB or the tuned placement plus replicas, whichever predicts better.
  TunedRouting r;
  r.sample = sample;
  r.search.expert_rank = plain.expert_rank();
  TunedLayer layer;
  layer.routings = {r};
  const ReplicaChoice choice = choose_replicas({layer}, 0, cost, {0, 2}, eplb_shape_of(cluster, 4));
  ASSERT_EQ(choice.table.size(), 2u);
  EXPECT_LT(choice.table[1].layer_us, choice.table[0].layer_us);
  EXPECT_EQ(choice.replicas, 2);
  ASSERT_EQ(choice.layers.size(), 1u);
  EXPECT_EQ(choice.layers[0].rank_experts.size(), 2u);
  EXPECT_GT(choice.table[1].weight_bytes_per_rank, 0.0);
}

// Pipelining on one node: the CPUs copy the intra-node rows whatever the degree, so each chunk only
// adds latencies and expert calls; across nodes the NICs' transfer hides behind compute.
TEST(CostModel, OverlapHidesInterNodeTransferBehindCompute) {
  const ModelConfig model = test_model(8, 2);
  RoutingSample sample;
  sample.experts = 8;
  sample.top_k = 2;
  for (int t = 0; t < 64; ++t) {
    sample.expert_ids.push_back(t % 8);
    sample.expert_ids.push_back((t * 3 + 1) % 8);
  }
  const std::vector<int> placement = {0, 0, 1, 1, 2, 2, 3, 3};
  ClusterModel one_node = test_cluster(1, 4);
  const CostModel serial(one_node, model, 256, baseline_strategy(), 1.0, 64);
  const Prediction p1 = serial.predict(sample, placement);
  const Prediction p4 = serial.with_overlap(4).predict(sample, placement);
  EXPECT_GT(p4.time.dispatch, p1.time.dispatch);  // three more latencies
  EXPECT_DOUBLE_EQ(p4.time.expert - p1.time.expert,
                   3 * 2 * one_node.rates.expert_call_s);  // 2 experts a rank, 3 more chunks

  // Four nodes of one rank, no latencies, slow experts: every exchange hides behind compute but
  // its first dispatch chunk and last combine chunk, half of it at two chunks.
  ClusterModel four_nodes = test_cluster(4, 1);
  four_nodes.intra.latency_s = four_nodes.inter.latency_s = 0.0;
  four_nodes.rates.expert_flops_per_s = 1e12;
  const CostModel across(four_nodes, model, 256, baseline_strategy(), 1.0, 64);
  const Prediction a1 = across.predict(sample, placement);
  const Prediction a2 = across.with_overlap(2).predict(sample, placement);
  ASSERT_GT(a1.time.expert, a1.time.dispatch + a1.time.combine);
  EXPECT_NEAR(a2.time.dispatch + a2.time.combine, (a1.time.dispatch + a1.time.combine) / 2,
              1e-9 * a1.time.dispatch);
  EXPECT_LT(a2.time.layer(), a1.time.layer());
}

TEST(TuningChoices, TopTRespectsTheImbalanceLimitAndCapacityTheDropLimit) {
  // Two routings: vanilla, then C2R T=1 that is faster but less balanced.
  auto routing = [](RoutingMode mode, int t, double layer_s, double imbalance) {
    TunedRouting r;
    r.routing = mode;
    r.top_t = t;
    r.search.prediction.time.expert = layer_s;
    r.search.prediction.rank_imbalance = imbalance;
    return r;
  };
  TunedLayer layer;
  layer.routings = {routing(RoutingMode::kVanilla, 0, 2.0, 1.0),
                    routing(RoutingMode::kC2R, 1, 1.0, 1.4),
                    routing(RoutingMode::kC2R, 2, 1.5, 1.1)};
  EXPECT_EQ(choose_top_t({layer}, 1.5).top_t, 1);
  EXPECT_EQ(choose_top_t({layer}, 1.2).top_t, 2);
  const TopTChoice none = choose_top_t({layer}, 1.05);
  EXPECT_FALSE(none.within_limit);
  EXPECT_EQ(none.top_t, 2);  // the most balanced C2R candidate

  // Capacity: a sample where one (source, expert) gets 3 of 4 pairs.
  TunedLayer capacity_layer;
  TunedRouting r;
  r.sample = sample_of(2, 1, {0, 0, 0, 1, 0, 1, 0, 1});
  r.search.expert_rank = {0, 1};
  capacity_layer.routings = {r};
  const CapacityChoice c = choose_capacity({capacity_layer}, 0, test_cluster(1, 2),
                                           test_model(2, 1), 4, 8, {1.0, 1.5, 2.0}, 0.0);
  // Rank 0 sends 3 pairs to expert 0: capacity ceil(cf * 4 / 2) must reach 3 -> cf 1.5.
  EXPECT_TRUE(c.within_limit);
  EXPECT_DOUBLE_EQ(c.factor, 1.5);
  EXPECT_EQ(c.table.size(), 3u);
}

}  // namespace
}  // namespace c2r
