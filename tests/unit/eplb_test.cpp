// Replicated placements and the EPLB placement: DeepSeek's published example, the packing and
// replication steps, the routing of pairs to replicas, and placement files of version 2.
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <numeric>
#include <string>
#include <vector>

#include "common/error.hpp"
#include "common/rng.hpp"
#include "model/placement.hpp"
#include "tuner/eplb.hpp"

namespace c2r {
namespace {

// The physical-to-logical map of a placement, slot by slot (eplb.py's phy2log).
std::vector<int> slot_experts(const Placement& p) {
  std::vector<int> out;
  for (int s = 0; s < p.slots(); ++s) out.push_back(p.slot_expert(s));
  return out;
}

// deepseek-ai/EPLB's README example: two layers of 12 experts, 16 physical experts on 8 GPUs in
// 2 nodes, 4 expert groups (hierarchical), and the phy2log it prints.
TEST(Eplb, ReproducesThePublishedExample) {
  const std::vector<std::vector<double>> weights = {
      {90, 132, 40, 61, 104, 165, 39, 4, 73, 56, 183, 86},
      {20, 107, 104, 64, 19, 197, 187, 157, 172, 86, 16, 27}};
  const std::vector<std::vector<int>> published = {
      {5, 6, 5, 7, 8, 4, 3, 4, 10, 9, 10, 2, 0, 1, 11, 1},
      {7, 10, 6, 8, 6, 11, 8, 9, 2, 4, 5, 1, 5, 0, 3, 1}};
  const EplbShape shape{8, 2, 4, 4};
  ASSERT_TRUE(eplb_hierarchical(shape));
  for (size_t layer = 0; layer < weights.size(); ++layer) {
    const Placement p = eplb_placement(weights[layer], shape);
    EXPECT_EQ(p.experts_per_rank(), 2);
    EXPECT_EQ(p.replicas(), 4);
    EXPECT_EQ(slot_experts(p), published[layer]) << "layer " << layer;
  }
}

// The global policy by hand: loads [10, 1, 1, 4], 6 slots on 2 ranks. Expert 0 gets both extra
// slots (10 > 4, then 5 > 4); replicas of loads 10/3 x 3, 1, 1, 4 pack to {4, 3.3, 1} and
// {3.3, 3.3, 1}.
TEST(Eplb, GlobalPolicyByHand) {
  const Placement p = eplb_placement({10, 1, 1, 4}, EplbShape{2, 1, 1, 2});
  EXPECT_EQ(p.rank_experts(), (std::vector<std::vector<int>>{{3, 0, 2}, {0, 0, 1}}));
  EXPECT_EQ(p.expert_slots(0), (std::vector<int>{1, 3, 4}));
  EXPECT_EQ(p.ranks_of(0), (std::vector<int>{0, 1}));
}

TEST(Eplb, PackingAndReplicationSteps) {
  const Packing packing = balanced_packing({5, 1, 4, 2}, 2);
  EXPECT_EQ(packing.pack, (std::vector<int>{0, 0, 1, 1}));  // {5, 1} and {4, 2}: 6 each
  EXPECT_EQ(packing.position, (std::vector<int>{0, 1, 0, 1}));
  // One item a pack keeps the order (eplb.py).
  EXPECT_EQ(balanced_packing({1, 9, 3}, 3).pack, (std::vector<int>{0, 1, 2}));
  const Replication r = replicate_experts({6, 3, 2}, 6);
  EXPECT_EQ(r.slot_expert, (std::vector<int>{0, 1, 2, 0, 0, 1}));  // 6, 3, 3 (tie: lowest), 2
  EXPECT_EQ(r.replica_count, (std::vector<int>{3, 2, 1}));
}

// Without replicas EPLB only packs: a balanced one-rank placement, hot experts apart.
TEST(Eplb, WithoutReplicasPacksExpertsApart) {
  const Placement p = eplb_placement({100, 90, 1, 1, 1, 1, 1, 1}, EplbShape{2, 1, 1, 0});
  EXPECT_FALSE(p.replicated());
  EXPECT_NE(p.rank_of(0), p.rank_of(1));
}

TEST(Eplb, RefusesShapesThatDoNotFit) {
  EXPECT_THROW(check_eplb_shape(8, EplbShape{3, 1, 1, 2}), Error);   // 10 slots on 3 ranks
  EXPECT_THROW(check_eplb_shape(8, EplbShape{4, 1, 1, -4}), Error);  // negative
  EXPECT_THROW(check_eplb_shape(8, EplbShape{4, 3, 1, 4}), Error);   // 4 ranks on 3 nodes
  EXPECT_NO_THROW(check_eplb_shape(8, EplbShape{4, 2, 2, 4}));
}

// Every pair reaches a slot of its own expert; a replica on the source rank takes its pairs;
// otherwise an expert's pairs spread evenly over its slots (counts within one of each other).
TEST(ReplicatedPlacement, RoutesPairsToReplicas) {
  // 4 experts, 2 ranks of 3 slots: expert 0 on both ranks (twice on rank 1), expert 3 on rank 0.
  const Placement p("r", {{3, 0, 2}, {0, 0, 1}}, 4);
  ASSERT_TRUE(p.replicated());
  EXPECT_EQ(p.experts_per_rank(), 3);
  Rng rng(7, Stream::kHidden, 0);
  std::vector<int32_t> ids(999);
  for (auto& e : ids) e = static_cast<int32_t>(rng.next_u64() % 4);
  for (int source = 0; source < 2; ++source) {
    std::vector<int32_t> slots(ids.size());
    p.route_to_slots(ids.data(), static_cast<int64_t>(ids.size()), source, slots.data());
    std::map<int, int> per_slot;
    for (size_t i = 0; i < ids.size(); ++i) {
      EXPECT_EQ(p.slot_expert(slots[i]), ids[i]);
      ++per_slot[slots[i]];
    }
    // Expert 0 has a slot on both ranks: every rank keeps its own pairs.
    for (size_t i = 0; i < ids.size(); ++i) {
      if (ids[i] == 0) EXPECT_EQ(slots[i] / 3, source);
    }
  }
  // A rank without a replica spreads: 3 slots of expert 0 on ranks 1 and 2 of a 3-rank layout.
  const Placement q("q", {{1, 2}, {0, 0}, {0, 3}}, 4);
  std::vector<int32_t> zeros(100, 0), slots(100);
  q.route_to_slots(zeros.data(), 100, 0, slots.data());
  std::map<int, int> per_slot;
  for (int32_t s : slots) ++per_slot[s];
  ASSERT_EQ(per_slot.size(), 3u);
  for (const auto& [slot, count] : per_slot) EXPECT_NEAR(count, 100.0 / 3, 1.0) << slot;
}

TEST(ReplicatedPlacement, ValidatesSlots) {
  EXPECT_THROW(Placement("p", {{0, 1}, {2}}, 4), Error);     // unequal slots
  EXPECT_THROW(Placement("p", {{0, 1}, {2, 2}}, 4), Error);  // expert 3 has no rank
  EXPECT_THROW(Placement("p", {{0, 1}, {2, 4}}, 4), Error);  // expert 4 of 4
  EXPECT_THROW(Placement("p", {{0, 0}, {1, 1}}, 2).rank_of(0), Error);
  // One slot per expert is the one-rank form, experts ascending on each rank.
  const Placement plain("p", {{3, 0}, {2, 1}}, 4);
  EXPECT_FALSE(plain.replicated());
  EXPECT_EQ(plain.expert_rank(), (std::vector<int>{0, 1, 1, 0}));
  EXPECT_EQ(plain.local_experts(0), (std::vector<int>{0, 3}));
}

TEST(ReplicatedPlacement, SlotPlacementIsTheExchangeView) {
  const Placement p("r", {{3, 0, 2}, {0, 0, 1}}, 4);
  const Placement slots = p.slot_placement();
  EXPECT_EQ(slots.experts(), 6);
  EXPECT_EQ(slots.expert_rank(), (std::vector<int>{0, 0, 0, 1, 1, 1}));
  EXPECT_EQ(slots.local_index(4), 1);
}

TEST(PlacementFile, ReplicatedLayersRoundTripInVersionTwo) {
  const Placement replicated("r", {{3, 0, 2}, {0, 0, 1}}, 4);
  const std::map<int, Placement> layers = {{0, replicated}, {2, contiguous_placement(4, 2)}};
  const nlohmann::json doc = placement_file_json(4, 2, layers);
  EXPECT_EQ(doc["schema_version"], 2);
  const PlacementFile file = parse_placement_file(doc.dump(), "written.json");
  EXPECT_EQ(file.for_layer(0, 4, 2).rank_experts(), replicated.rank_experts());
  EXPECT_EQ(file.for_layer(2, 4, 2).expert_rank(), (std::vector<int>{0, 0, 1, 1}));
}

TEST(PlacementFile, RefusesBadReplicaLists) {
  auto parse = [](const std::string& body, int version = 2) {
    return parse_placement_file(R"({"schema": "c2rbench.placement", "schema_version": )" +
                                    std::to_string(version) + R"(, "experts": 4, "ranks": 2, )" +
                                    body + "}",
                                "p.json");
  };
  EXPECT_NO_THROW(parse(R"("rank_experts": [[0, 1, 0], [2, 3, 3]])"));
  EXPECT_THROW(parse(R"("rank_experts": [[0, 1, 0], [2, 3, 3]])", 1), Error);  // version 1
  EXPECT_THROW(parse(R"("rank_experts": [[0, 1], [2, 3, 3]])"), Error);        // lengths
  EXPECT_THROW(parse(R"("rank_experts": [[0, 1], [2, 2]])"), Error);           // expert 3
  EXPECT_THROW(parse(R"("rank_experts": [[0, 1], [2, 4]])"), Error);           // id 4
  EXPECT_THROW(parse(R"("rank_experts": [[0, 1, 2, 3]])"), Error);             // one rank of 2
  EXPECT_THROW(parse(R"("rank_experts": [[0, 1], [2, 3]], "expert_rank": [0, 0, 1, 1])"), Error);
  EXPECT_THROW(parse(R"("rank_experts": [[0, 1], [2, 3]])", 3), Error);  // newer version
  // A huge expert count is refused for its few slots before anything is sized by it.
  try {
    parse_placement_file(R"({"schema": "c2rbench.placement", "schema_version": 2,
                             "experts": 2147483647, "ranks": 2, "rank_experts": [[0], [1]]})",
                         "huge.json");
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("holds 2 slots for 2147483647 experts"), std::string::npos)
        << e.what();
  }
  try {
    parse(R"("layers": [{"layer": 0, "rank_experts": [[0, 1, 1], [2, 2, 2]]}])");
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("gives expert 3 no rank"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace c2r
