// The per-rank memory estimate and the --max-memory sizes.

#include <gtest/gtest.h>

#include "bench/memory_estimate.hpp"
#include "cli/options.hpp"
#include "common/error.hpp"

namespace c2r {
namespace {

RunConfig config_for(int64_t tokens, bool check, const std::vector<std::string>& placements) {
  RunOptions o;
  o.workload.tokens = tokens;
  o.check = check;
  o.placement = placements;
  return resolve_run_config(o, 2);
}

TEST(MemoryEstimate, GrowsWithTokensAndCountsEveryExpertWhenChecking) {
  const MemoryEstimate small = estimate_rank_memory(config_for(256, false, {"contiguous"}));
  const MemoryEstimate large = estimate_rank_memory(config_for(4096, false, {"contiguous"}));
  EXPECT_GT(large.total_bytes, small.total_bytes);
  // LLaMA-MoE: 8 experts of 3 x 4096 x 1376 floats; 2 ranks hold 4 each, --check holds all 8.
  const double expert = 3.0 * 4096 * 1376 * 4;
  auto weights = [](const MemoryEstimate& e) {
    for (const auto& [what, bytes] : e.items) {
      if (what == "expert weights") return bytes;
    }
    return -1.0;
  };
  EXPECT_DOUBLE_EQ(weights(small), 4 * expert);
  EXPECT_DOUBLE_EQ(weights(estimate_rank_memory(config_for(256, true, {"contiguous"}))),
                   8 * expert);
  double sum = 0;
  for (const auto& item : large.items) sum += item.second;
  EXPECT_DOUBLE_EQ(sum, large.total_bytes);
  EXPECT_GE(large.items.front().second, large.items.back().second);  // largest first
}

double item(const MemoryEstimate& e, const std::string& name) {
  for (const auto& [what, bytes] : e.items) {
    if (what == name) return bytes;
  }
  return -1.0;
}

// Interleaved cells keep their buffers for the whole run: their exchange buffers add up; cells run
// one after another need only the largest cell's.
TEST(MemoryEstimate, InterleavedCellsHoldEveryCellsBuffers) {
  RunOptions o;
  o.workload.tokens = 512;
  o.routing = {"vanilla"};
  o.placement = {"contiguous"};
  o.strategy = {"dropless"};
  o.order = "sequential";
  const double one = item(estimate_rank_memory(resolve_run_config(o, 2)), "exchange buffers");
  o.order = "interleaved";
  EXPECT_DOUBLE_EQ(item(estimate_rank_memory(resolve_run_config(o, 2)), "exchange buffers"), one);
  o.placement = {"contiguous", "round-robin", "collab"};  // three dropless cells
  EXPECT_DOUBLE_EQ(item(estimate_rank_memory(resolve_run_config(o, 2)), "exchange buffers"),
                   3 * one);
  o.order = "sequential";
  EXPECT_DOUBLE_EQ(item(estimate_rank_memory(resolve_run_config(o, 2)), "exchange buffers"), one);
}

// The destination's copies in expert order: dropless keeps its received rows regrouped by expert
// (one buffer), dedup its gathered pairs and its per-row sums (two), of the same rows.
TEST(MemoryEstimate, CountsEachStrategysExpertOrderBuffers) {
  auto expert_order = [](const std::string& strategy) {
    RunOptions o;
    o.workload.tokens = 512;
    o.strategy = {strategy};
    o.routing = {"vanilla"};
    o.placement = {"contiguous"};
    RunConfig config = resolve_run_config(o, 2);
    config.cells.resize(1);  // without the baseline cell the grid adds
    for (const auto& [what, bytes] : estimate_rank_memory(config).items) {
      if (what == "expert-order buffers") return bytes;
    }
    return -1.0;
  };
  // 512 tokens x k = 2 pairs, a 2x skew margin at 2 ranks, rows of H = 4096 floats.
  EXPECT_DOUBLE_EQ(expert_order("dropless"), 512.0 * 2 * 2 * 4096 * 4);
  EXPECT_DOUBLE_EQ(expert_order("dedup"), 2 * expert_order("dropless"));
}

TEST(MemoryEstimate, ParsesSizes) {
  EXPECT_DOUBLE_EQ(parse_memory_size("512MiB"), 512.0 * 1024 * 1024);
  EXPECT_DOUBLE_EQ(parse_memory_size("2G"), 2.0 * 1024 * 1024 * 1024);
  EXPECT_DOUBLE_EQ(parse_memory_size("1.5GiB"), 1.5 * 1024 * 1024 * 1024);
  EXPECT_DOUBLE_EQ(parse_memory_size("1000"), 1000.0);
  EXPECT_THROW(parse_memory_size("lots"), Error);
  EXPECT_THROW(parse_memory_size("5PB"), Error);
  EXPECT_THROW(parse_memory_size("-1G"), Error);
  EXPECT_GT(default_memory_per_rank(2), 0.0);
  EXPECT_EQ(format_bytes(1.5 * 1024 * 1024 * 1024), "1.50 GiB");
}

}  // namespace
}  // namespace c2r
