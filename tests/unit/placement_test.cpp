// Placements: built-in layouts, balance checks, the exhaustive collaboration placement against
// brute force, and placement files.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "common/error.hpp"
#include "common/file_io.hpp"
#include "common/rng.hpp"
#include "model/reference_data.hpp"
#include "tuner/collab_placement.hpp"

namespace c2r {
namespace {

TEST(Placement, BuiltInLayouts) {
  EXPECT_EQ(contiguous_placement(8, 4).expert_rank(), (std::vector<int>{0, 0, 1, 1, 2, 2, 3, 3}));
  EXPECT_EQ(round_robin_placement(8, 4).expert_rank(), (std::vector<int>{0, 1, 2, 3, 0, 1, 2, 3}));
  const Placement p = round_robin_placement(8, 2);
  EXPECT_EQ(p.local_experts(1), (std::vector<int>{1, 3, 5, 7}));
  EXPECT_EQ(p.local_index(5), 2);
}

TEST(Placement, RejectsUnbalancedAndOutOfRange) {
  EXPECT_THROW(Placement("p", {0, 0, 0, 1}, 2), Error);
  EXPECT_THROW(Placement("p", {0, 0, 2, 2}, 2), Error);
  try {
    check_experts_divide(8, 3);
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("do not divide"), std::string::npos);
  }
}

TEST(Placement, BalancedPartitionCounts) {
  EXPECT_NEAR(balanced_partition_count(8, 2), 35, 1e-6);
  EXPECT_NEAR(balanced_partition_count(8, 4), 105, 1e-6);
}

// The best internal collaboration over every balanced assignment, by brute force over labelled
// assignments (independent of the exhaustive search's canonical enumeration).
double brute_force_best(const CollaborationMatrix& m, int ranks) {
  const int experts = m.experts, per_rank = experts / ranks;
  std::vector<int> owner(experts), fill(ranks, 0);
  double best = -1;
  std::function<void(int)> assign = [&](int e) {
    if (e == experts) {
      best = std::max(best, Placement("b", owner, ranks).internal_collaboration(m));
      return;
    }
    for (int r = 0; r < ranks; ++r) {
      if (fill[r] == per_rank) continue;
      owner[e] = r;
      ++fill[r];
      assign(e + 1);
      --fill[r];
    }
  };
  assign(0);
  return best;
}

TEST(Placement, CollabIsTheExhaustiveOptimumOnRealAndRandomMatrices) {
  const LayerCollaboration real = parse_collaboration_matrix(
      read_text_file(std::string(C2R_TEST_DATA_DIR) + "/reference/llama-moe-3.5b-c2r-topt1.json"),
      "topt1");
  std::vector<CollaborationMatrix> matrices = {real.layers[0], real.layers[13], real.layers[31]};
  Rng rng(4, Stream::kRouter, 0);
  CollaborationMatrix random(8);
  for (int i = 0; i < 8; ++i) {
    for (int j = 0; j < i; ++j) random.at(i, j) = random.at(j, i) = std::floor(rng.uniform() * 50);
  }
  matrices.push_back(random);
  for (const auto& m : matrices) {
    for (int ranks : {2, 4}) {
      CollabSearch search;
      const Placement p = collab_placement(m, ranks, &search);
      EXPECT_EQ(search.method, "exhaustive");
      EXPECT_DOUBLE_EQ(p.internal_collaboration(m), brute_force_best(m, ranks)) << ranks;
    }
  }
}

TEST(Placement, CollabUsesLocalSearchForManyExperts) {
  CollaborationMatrix m(60);
  Rng rng(5, Stream::kRouter, 0);
  for (int i = 0; i < 60; ++i) {
    for (int j = 0; j < i; ++j) m.at(i, j) = m.at(j, i) = rng.uniform() < 0.1 ? 10 : 0;
  }
  CollabSearch search;
  const Placement p = collab_placement(m, 4, &search);
  EXPECT_EQ(search.method, "swap-local-search");
  EXPECT_GE(p.internal_collaboration(m), contiguous_placement(60, 4).internal_collaboration(m));
}

TEST(PlacementFile, ParsesPerLayerAndEveryLayerEntries) {
  const PlacementFile file = parse_placement_file(
      R"({"schema":"c2rbench.placement","schema_version":1,"experts":4,"ranks":2,
          "expert_rank":[0,0,1,1],"layers":[{"layer":3,"expert_rank":[1,0,1,0]}],"extra":true})",
      "p.json");
  EXPECT_EQ(file.for_layer(0, 4, 2).expert_rank(), (std::vector<int>{0, 0, 1, 1}));
  EXPECT_EQ(file.for_layer(3, 4, 2).expert_rank(), (std::vector<int>{1, 0, 1, 0}));
  EXPECT_THROW(file.for_layer(0, 4, 4), Error);  // other rank count
  EXPECT_THROW(file.for_layer(0, 8, 2), Error);  // other expert count
  const PlacementFile only_layers = parse_placement_file(
      R"({"schema":"c2rbench.placement","schema_version":1,"experts":4,"ranks":2,
          "layers":[{"layer":1,"expert_rank":[1,0,1,0]}]})",
      "q.json");
  EXPECT_THROW(only_layers.for_layer(0, 4, 2), Error);  // no placement for layer 0
}

TEST(PlacementFile, RejectsMalformedFiles) {
  EXPECT_THROW(parse_placement_file("{\"schema\": \"c2rbench.placement\", ", "t.json"), Error);
  EXPECT_THROW(parse_placement_file(R"({"schema":"other","schema_version":1})", "s.json"), Error);
  EXPECT_THROW(
      parse_placement_file(
          R"({"schema":"c2rbench.placement","schema_version":3,"experts":4,"ranks":2,"expert_rank":[0,0,1,1]})",
          "v.json"),
      Error);
  const std::string text = placement_file_json(4, 2, {{0, contiguous_placement(4, 2)}}).dump();
  EXPECT_EQ(parse_placement_file(text, "rt").for_layer(0, 4, 2).expert_rank(),
            (std::vector<int>{0, 0, 1, 1}));
}

void expect_error_mentions(const std::function<void()>& run, const std::string& needle) {
  try {
    run();
    ADD_FAILURE() << "accepted; expected an error mentioning '" << needle << "'";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
  }
}

CollaborationMatrix random_matrix(int experts, uint64_t seed) {
  CollaborationMatrix m(experts);
  Rng rng(seed, Stream::kRouter, 0);
  for (int i = 0; i < experts; ++i) {
    for (int j = 0; j < i; ++j) m.at(i, j) = m.at(j, i) = std::floor(rng.uniform() * 100);
  }
  return m;
}

TEST(Placement, LayoutsForSixtyExpertsOverFourRanks) {
  const Placement c = contiguous_placement(60, 4), r = round_robin_placement(60, 4);
  EXPECT_EQ(c.name(), "contiguous");
  EXPECT_EQ(r.name(), "round-robin");
  EXPECT_EQ(c.experts_per_rank(), 15);
  for (int e = 0; e < 60; ++e) {
    EXPECT_EQ(c.rank_of(e), e / 15);
    EXPECT_EQ(c.local_index(e), e % 15);
    EXPECT_EQ(r.rank_of(e), e % 4);
    EXPECT_EQ(r.local_index(e), e / 4);
  }
  for (int rank = 0; rank < 4; ++rank) {
    ASSERT_EQ(c.local_experts(rank).size(), 15u);
    EXPECT_EQ(c.local_experts(rank).front(), 15 * rank);
    EXPECT_EQ(r.local_experts(rank).front(), rank);
    EXPECT_EQ(r.local_experts(rank).back(), 56 + rank);
  }
  EXPECT_EQ(contiguous_placement(8, 1).expert_rank(), std::vector<int>(8, 0));
}

TEST(Placement, RejectionsNameTheProblem) {
  expect_error_mentions([] { Placement("p", {0, 0, 0, 1}, 2); }, "gives rank");
  expect_error_mentions([] { Placement("p", {0, 0, 2, 2}, 2); }, "on rank 2");
  expect_error_mentions([] { Placement("p", {0, -1, 1, 1}, 2); }, "on rank -1");
  expect_error_mentions([] { Placement("p", {0, 1, 0}, 2); }, "do not divide");
  expect_error_mentions([] { contiguous_placement(60, 7); }, "do not divide");
  expect_error_mentions([] { round_robin_placement(8, 3); }, "do not divide");
  expect_error_mentions([] { collab_placement(CollaborationMatrix(8), 3); }, "do not divide");
  EXPECT_THROW(check_experts_divide(8, 0), Error);
  EXPECT_NO_THROW(check_experts_divide(60, 4));
}

TEST(Placement, InternalCollaborationCountsEachPairOnce) {
  CollaborationMatrix m(4);
  auto set = [&](int i, int j, double v) { m.at(i, j) = m.at(j, i) = v; };
  set(0, 1, 5);
  set(2, 3, 7);
  set(0, 2, 11);
  set(1, 3, 13);
  EXPECT_DOUBLE_EQ(contiguous_placement(4, 2).internal_collaboration(m), 12);
  EXPECT_DOUBLE_EQ(round_robin_placement(4, 2).internal_collaboration(m), 24);
  EXPECT_DOUBLE_EQ(contiguous_placement(4, 1).internal_collaboration(m), 36);
  EXPECT_DOUBLE_EQ(contiguous_placement(4, 4).internal_collaboration(m), 0);
  EXPECT_EQ(collab_placement(m, 2).expert_rank(), (std::vector<int>{0, 1, 0, 1}));
}

TEST(Placement, PartitionCountsDecideTheSearch) {
  EXPECT_NEAR(balanced_partition_count(12, 3), 5775, 1e-6);
  EXPECT_NEAR(balanced_partition_count(16, 2), 6435, 1e-6);
  EXPECT_NEAR(balanced_partition_count(8, 8), 1, 1e-9);
  EXPECT_GT(balanced_partition_count(16, 4), kMaxExhaustivePartitions);  // 2,627,625
  EXPECT_GT(balanced_partition_count(60, 4), kMaxExhaustivePartitions);
  CollabSearch search;
  collab_placement(random_matrix(16, 41), 2, &search);
  EXPECT_EQ(search.method, "exhaustive");
  EXPECT_DOUBLE_EQ(search.candidates, 6435);
  collab_placement(random_matrix(16, 42), 4, &search);
  EXPECT_EQ(search.method, "swap-local-search");
}

TEST(Placement, CollabIsTheOptimumOnEveryRealLlamaLayer) {
  for (const std::string file : {"llama-moe-3.5b-vanilla.json", "llama-moe-3.5b-c2r-topt1.json",
                                 "llama-moe-3.5b-c2r-topt4.json"}) {
    const LayerCollaboration data = parse_collaboration_matrix(
        read_text_file(std::string(C2R_TEST_DATA_DIR) + "/reference/" + file), file);
    for (size_t l = 0; l < data.layers.size(); ++l) {
      const CollaborationMatrix& m = data.layers[l];
      for (int ranks : {2, 4}) {
        CollabSearch search;
        const Placement p = collab_placement(m, ranks, &search);
        EXPECT_EQ(search.method, "exhaustive");
        EXPECT_DOUBLE_EQ(search.candidates, ranks == 2 ? 35 : 105);
        EXPECT_EQ(p.name(), "collab");
        EXPECT_DOUBLE_EQ(p.internal_collaboration(m), brute_force_best(m, ranks))
            << file << " layer " << l << " ranks " << ranks;
        EXPECT_GE(p.internal_collaboration(m),
                  contiguous_placement(8, ranks).internal_collaboration(m));
      }
    }
  }
}

TEST(Placement, CollabIsTheOptimumForTwelveExpertsOverThreeRanks) {
  for (uint64_t seed : {43, 44}) {
    const CollaborationMatrix m = random_matrix(12, seed);
    CollabSearch search;
    const Placement p = collab_placement(m, 3, &search);
    EXPECT_EQ(search.method, "exhaustive");
    EXPECT_DOUBLE_EQ(search.candidates, 5775);
    EXPECT_DOUBLE_EQ(p.internal_collaboration(m), brute_force_best(m, 3)) << seed;
  }
}

TEST(Placement, LocalSearchEndsAtASwapLocalOptimum) {
  const CollaborationMatrix m = random_matrix(60, 45);
  CollabSearch search;
  const Placement p = collab_placement(m, 4, &search);
  EXPECT_EQ(search.method, "swap-local-search");
  EXPECT_GT(search.candidates, 0);
  const double score = p.internal_collaboration(m);
  EXPECT_GT(score, contiguous_placement(60, 4).internal_collaboration(m));
  EXPECT_GT(score, round_robin_placement(60, 4).internal_collaboration(m));
  // No exchange of two experts on different ranks improves it.
  for (int a = 0; a < 60; ++a) {
    for (int b = a + 1; b < 60; ++b) {
      if (p.rank_of(a) == p.rank_of(b)) continue;
      std::vector<int> owner = p.expert_rank();
      std::swap(owner[a], owner[b]);
      ASSERT_LE(Placement("s", owner, 4).internal_collaboration(m), score + 1e-6) << a << "," << b;
    }
  }
}

TEST(Placement, LocalSearchRecoversPlantedGroups) {
  // 60 experts in 4 hidden groups of 15 (scattered ids): heavy inside, light noise outside.
  const int experts = 60, ranks = 4;
  std::vector<int> group(experts);
  for (int e = 0; e < experts; ++e) group[e] = (e * 7) % 4;
  CollaborationMatrix m(experts);
  Rng rng(46, Stream::kRouter, 0);
  for (int i = 0; i < experts; ++i) {
    for (int j = 0; j < i; ++j) {
      m.at(i, j) = m.at(j, i) = group[i] == group[j] ? 100 + std::floor(rng.uniform() * 10)
                                                     : std::floor(rng.uniform() * 3);
    }
  }
  const Placement planted("planted", group, ranks);
  const Placement p = collab_placement(m, ranks);
  EXPECT_GE(p.internal_collaboration(m), planted.internal_collaboration(m) * 0.999);
}

TEST(PlacementFile, EveryLayerEntryServesAnyLayer) {
  const PlacementFile file = parse_placement_file(
      R"({"schema":"c2rbench.placement","schema_version":1,"experts":8,"ranks":4,
          "expert_rank":[3,2,1,0,0,1,2,3]})",
      "every.json");
  EXPECT_EQ(file.source, "every.json");
  EXPECT_EQ(file.experts, 8);
  EXPECT_EQ(file.ranks, 4);
  for (int layer : {0, 7, 31}) {
    const Placement p = file.for_layer(layer, 8, 4);
    EXPECT_EQ(p.expert_rank(), (std::vector<int>{3, 2, 1, 0, 0, 1, 2, 3}));
    EXPECT_EQ(p.local_experts(0), (std::vector<int>{3, 4}));
  }
  expect_error_mentions([&] { file.for_layer(0, 8, 2); }, "every.json");
  expect_error_mentions([&] { file.for_layer(0, 60, 4); }, "every.json");
}

TEST(PlacementFile, UnbalancedEntriesAreRejectedWhenUsed) {
  const std::string head = R"({"schema":"c2rbench.placement","schema_version":1,"experts":4,)";
  // An unbalanced rank list parses (balance is the run's Placement's rule), but gives no
  // placement.
  const PlacementFile file =
      parse_placement_file(head + R"("ranks":2,"layers":[{"layer":0,"expert_rank":[0,0,0,1]},
                                   {"layer":3,"expert_rank":[1,1,0,0]}]})",
                           "fit.json");
  EXPECT_THROW(file.for_layer(0, 4, 2), Error);
  EXPECT_EQ(file.for_layer(3, 4, 2).expert_rank(), (std::vector<int>{1, 1, 0, 0}));
  expect_error_mentions([&] { file.for_layer(4, 4, 2); }, "no placement for layer 4");
}

// What no run could use is refused when the file is read, naming the file and the entry: a rank
// list of another length than "experts", a rank outside the file's ranks, a negative layer, a
// layer listed twice (the second used to replace the first silently), counts below 1.
TEST(PlacementFile, ImpossibleEntriesAreRefusedWhenRead) {
  const std::string head = R"({"schema":"c2rbench.placement","schema_version":1,"experts":4,)";
  const std::vector<std::pair<std::string, std::string>> cases = {
      {head + R"("ranks":2,"layers":[{"layer":1,"expert_rank":[0,1,1]}]})",
       "layers[0]: \"expert_rank\" has 3 entries, but the file is for 4 experts"},
      {head + R"("ranks":2,"layers":[{"layer":2,"expert_rank":[0,1,2,1]}]})",
       "layers[0]: \"expert_rank\" holds rank 2, but the file is for 2 ranks"},
      {head + R"("ranks":2,"expert_rank":[0,-1,1,1]})",
       "\"expert_rank\" holds rank -1, but the file is for 2 ranks"},
      {head + R"("ranks":2,"layers":[{"layer":-3,"expert_rank":[0,0,1,1]}]})",
       "layers[0]: \"layer\" must be a non-negative integer"},
      {head + R"("ranks":2,"layers":[{"layer":5,"expert_rank":[0,0,1,1]},
                                     {"layer":6,"expert_rank":[0,1,0,1]},
                                     {"layer":5,"expert_rank":[1,1,0,0]}]})",
       "layers[2]: layer 5 is already layers[0]"},
      {head + R"("ranks":-2,"expert_rank":[0,0,1,1]})", "\"ranks\" must be a positive integer"},
      {R"({"schema":"c2rbench.placement","schema_version":1,"experts":0,"ranks":2,
           "expert_rank":[]})",
       "\"experts\" must be a positive integer"},
  };
  for (const auto& [text, needle] : cases) {
    expect_error_mentions([&] { parse_placement_file(text, "impossible.json"); },
                          "impossible.json");
    expect_error_mentions([&] { parse_placement_file(text, "impossible.json"); }, needle);
  }
  // A tuning file's layers are read by the same rules.
  expect_error_mentions(
      [&] {
        parse_placement_file(
            R"({"schema":"c2rbench.tuning","schema_version":1,"model":{"preset":"llama-moe-3.5b"},
                "experts":4,"ranks":2,"layers":[{"layer":0,"expert_rank":[0,0,1,1]},
                                                {"layer":0,"expert_rank":[0,1,0,1]}]})",
            "tuned.json");
      },
      "tuned.json: layers[1]: layer 0 is already layers[0]");
}

TEST(PlacementFile, SchemaErrorsNameTheSource) {
  const std::string head = R"({"schema":"c2rbench.placement","schema_version":1,)";
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"trunc.json", head + R"("experts":4,"ranks":2,"expert_rank":[0,0,)"},
      {"array.json", "[1, 2, 3]"},
      {"schema.json", R"({"schema":"c2rbench.report","schema_version":1,"experts":4,"ranks":2,
                          "expert_rank":[0,0,1,1]})"},
      {"noversion.json",
       R"({"schema":"c2rbench.placement","experts":4,"ranks":2,"expert_rank":[0,0,1,1]})"},
      {"noexperts.json", head + R"("ranks":2,"expert_rank":[0,0,1,1]})"},
      {"textranks.json", head + R"("experts":4,"ranks":"2","expert_rank":[0,0,1,1]})"},
      {"nothing.json", head + R"("experts":4,"ranks":2})"},
      {"layersobj.json", head + R"("experts":4,"ranks":2,"layers":{"0":[0,0,1,1]}})"},
      {"nolayer.json", head + R"("experts":4,"ranks":2,"layers":[{"expert_rank":[0,0,1,1]}]})"},
      {"float.json", head + R"("experts":4,"ranks":2,"expert_rank":[0,0.5,1,1]})"},
      {"notarray.json", head + R"("experts":4,"ranks":2,"expert_rank":"0011"})"},
  };
  for (const auto& [source, text] : cases) {
    expect_error_mentions([&] { parse_placement_file(text, source); }, source);
  }
}

TEST(PlacementFile, WrittenFileRoundTrips) {
  std::map<int, Placement> layers;
  layers.emplace(0, contiguous_placement(8, 4));
  layers.emplace(5, round_robin_placement(8, 4));
  layers.emplace(9, collab_placement(random_matrix(8, 47), 4));
  const PlacementFile file =
      parse_placement_file(placement_file_json(8, 4, layers).dump(2), "written.json");
  for (const auto& [layer, placement] : layers) {
    EXPECT_EQ(file.for_layer(layer, 8, 4).expert_rank(), placement.expert_rank()) << layer;
  }
  EXPECT_THROW(file.for_layer(1, 8, 4), Error);  // no every-layer entry
}

}  // namespace
}  // namespace c2r
