// The per-rank memory estimate and the --max-memory sizes.

#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "bench/memory_estimate.hpp"
#include "cli/options.hpp"
#include "cli/tune_command.hpp"
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

// Every timed iteration's samples are kept until the report is written: a minimum time may run
// each cell up to --max-iters iterations, and the estimate counts that many.
TEST(MemoryEstimate, TimingSamplesCountTheCapOfAMinimumTime) {
  RunOptions o;
  o.workload.tokens = 8;
  o.routing = {"vanilla"};
  o.placement = {"contiguous"};
  o.strategy = {"dropless", "dedup"};
  o.iters = 10;
  const double fixed = item(estimate_rank_memory(resolve_run_config(o, 2)), "timing samples");
  EXPECT_GT(fixed, 0.0);
  o.min_time = 1.0;
  o.max_iters = 100000;
  const double capped = item(estimate_rank_memory(resolve_run_config(o, 2)), "timing samples");
  EXPECT_DOUBLE_EQ(capped, fixed * 10000);
  EXPECT_GT(capped, 100.0 * 1024 * 1024);  // 2 cells x 1e5 iterations: worth refusing early
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
  EXPECT_EQ(format_bytes(512.0 * 1024 * 1024), "512.00 MiB");
  EXPECT_EQ(format_bytes(640), "640 B");
  EXPECT_EQ(format_bytes(2048), "2.00 KiB");
  EXPECT_EQ(format_bytes(3.0 * 1024 * 1024 * 1024 * 1024), "3.00 TiB");
  EXPECT_EQ(format_bytes(std::ldexp(1.0, 62)), "4.00 EiB");
  EXPECT_EQ(format_bytes(std::ldexp(1.0, 63)), "8 EiB or more");
  EXPECT_EQ(format_bytes(std::numeric_limits<double>::infinity()), "8 EiB or more");
}

constexpr int64_t kTokens2To62 = int64_t{1} << 62;

// --tokens 4611686018427387904: tokens x hidden x sizeof(float) does not fit in 64 bits. The
// estimate says so (+infinity, above every limit) instead of a wrapped-around size.
TEST(MemoryEstimate, TokensBeyond64BitSizesAreAboveEveryLimit) {
  for (int ranks : {1, 2}) {
    RunOptions o;
    o.workload.tokens = kTokens2To62;
    const MemoryEstimate e = estimate_rank_memory(resolve_run_config(o, ranks));
    EXPECT_TRUE(std::isinf(e.total_bytes)) << ranks << " ranks";
    EXPECT_TRUE(std::isinf(item(e, "tokens, output and router")));
    EXPECT_EQ(format_bytes(e.total_bytes), "8 EiB or more");
    EXPECT_NE(describe_items(e).find("exchange buffers 8 EiB or more"), std::string::npos);
  }
  // Each rank's buffers fit in 64 bits, the job's (token, expert) pairs do not.
  RunOptions o;
  o.workload.tokens = int64_t{1} << 40;
  RunConfig config = resolve_run_config(o, 2);
  EXPECT_FALSE(std::isinf(estimate_rank_memory(config).total_bytes));
  config.ranks = 1 << 30;
  EXPECT_TRUE(std::isinf(estimate_rank_memory(config).total_bytes));
}

TEST(MemoryEstimate, TopologyProbesGrowWithTheirOptionsAndRanks) {
  const TopologyOptions defaults;
  const MemoryEstimate base = estimate_topology_memory(defaults, 2);
  EXPECT_DOUBLE_EQ(item(base, "bandwidth probe buffer"), 4 << 20);
  EXPECT_DOUBLE_EQ(item(base, "all2all send and receive buffers"), 2.0 * (64 << 20));
  EXPECT_LT(base.total_bytes, 256.0 * 1024 * 1024);
  TopologyOptions large = defaults;
  large.large_bytes = std::numeric_limits<int>::max();
  large.repetitions = std::numeric_limits<int>::max();
  const MemoryEstimate e = estimate_topology_memory(large, 2);
  EXPECT_DOUBLE_EQ(item(e, "bandwidth probe buffer"), std::numeric_limits<int>::max());
  EXPECT_GT(item(e, "timings"), 8.0 * std::numeric_limits<int>::max());
  EXPECT_DOUBLE_EQ(item(estimate_topology_memory(defaults, 4096), "rank-to-rank matrices"),
                   64 * item(estimate_topology_memory(defaults, 512), "rank-to-rank matrices"));
}

TuneMemoryPlan tune_plan(int64_t tokens) {
  WorkloadOptions w;
  w.tokens = tokens;
  TuneMemoryPlan plan;
  plan.setup = resolve_workload(w);
  plan.tokens_per_rank = tokens;
  plan.ranks = 2;
  plan.measure_cluster = true;
  plan.calibrate = true;
  plan.sample_per_rank = tokens;
  plan.layers = 32;
  plan.routings = 7;
  return plan;
}

TEST(MemoryEstimate, TuneHoldsItsSamplesAndItsLargestStep) {
  const MemoryEstimate e = estimate_tune_memory(tune_plan(1024));
  ASSERT_EQ(e.items.size(), 2u);
  // LLaMA-MoE, top-2: every rank keeps the experts of 2 x 1024 tokens for 32 layers x 7 routings.
  EXPECT_DOUBLE_EQ(item(e, "routing samples of 32 layer(s) x 7 routing(s), kept throughout"),
                   2.0 * 1024 * 2 * 4 * 32 * 7);
  // Calibration at H = 4096 (two experts' weights, the cache flush) outweighs the other steps.
  EXPECT_GT(item(e, "rate calibration (the largest step)"), 128.0 * 1024 * 1024);
  EXPECT_DOUBLE_EQ(e.total_bytes, e.items[0].second + e.items[1].second);

  TuneMemoryPlan validated = tune_plan(1024);
  RunOptions o;
  o.workload.tokens = 1024;
  o.placement = {"contiguous", "round-robin", "collab"};
  validated.validation = resolve_run_config(o, 2);
  const MemoryEstimate v = estimate_tune_memory(validated);
  EXPECT_GT(item(v, "validation runs (the largest step)"), 0.0);
  EXPECT_GT(v.total_bytes, e.total_bytes);
}

TEST(MemoryEstimate, TuneTokensBeyond64BitSizesAreAboveEveryLimit) {
  const MemoryEstimate e = estimate_tune_memory(tune_plan(kTokens2To62));
  EXPECT_TRUE(std::isinf(e.total_bytes));
  TuneMemoryPlan simulated = tune_plan(kTokens2To62);  // the deployment's tokens are not allocated
  simulated.measure_cluster = simulated.calibrate = false;
  simulated.sample_per_rank = 8192;
  EXPECT_LT(estimate_tune_memory(simulated).total_bytes, 1024.0 * 1024 * 1024);
  simulated.sample_per_rank = int64_t{1} << 61;  // 2^61 tokens x 2 ranks x top-2 x 4 bytes
  EXPECT_TRUE(std::isinf(estimate_tune_memory(simulated).total_bytes));
}

TEST(MemoryEstimate, LimitRefusesOnEveryRankWithTheEstimate) {
  const Communicator comm(MPI_COMM_WORLD);
  MemoryEstimate e;
  e.items = {{"buffers", 3.0 * 1024 * 1024}};
  finish_estimate(e);
  EXPECT_NO_THROW(check_memory_limit(e, "4MiB", "use less", comm));
  try {
    check_memory_limit(e, "2MiB", "use less", comm);
    FAIL() << "not refused";
  } catch (const Error& error) {
    EXPECT_TRUE(error.raised_on_all_ranks());
    EXPECT_EQ(std::string(error.what()),
              "a rank would need about 3.00 MiB (buffers 3.00 MiB), more than --max-memory "
              "2.00 MiB; use less");
  }
  e.items = {{"buffers", std::numeric_limits<double>::infinity()}};
  finish_estimate(e);
  EXPECT_THROW(check_memory_limit(e, "1e30", "use less", comm), Error);
  EXPECT_THROW(check_memory_limit(e, "lots", "use less", comm), Error);
}

}  // namespace
}  // namespace c2r
