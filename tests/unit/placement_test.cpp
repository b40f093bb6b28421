// Placements: built-in layouts, balance checks, the exhaustive collaboration placement against
// brute force, and placement files.
#include <gtest/gtest.h>

#include <functional>

#include "common/error.hpp"
#include "common/file_io.hpp"
#include "common/rng.hpp"
#include "model/reference_data.hpp"
#include "tuner/placement.hpp"

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
          R"({"schema":"c2rbench.placement","schema_version":2,"experts":4,"ranks":2,"expert_rank":[0,0,1,1]})",
          "v.json"),
      Error);
  const std::string text = placement_file_json(4, 2, {{0, contiguous_placement(4, 2)}}).dump();
  EXPECT_EQ(parse_placement_file(text, "rt").for_layer(0, 4, 2).expert_rank(),
            (std::vector<int>{0, 0, 1, 1}));
}

}  // namespace
}  // namespace c2r
