// The strategy registry: a strategy registered at run time reaches every consumer through its
// descriptor (parsing, the help, the grid, the memory estimate, the cost model's traffic and copy
// terms, the placement search), and bad registrations are refused. Its own binary, since it adds
// to the process-wide registry.

#include <gtest/gtest.h>

#include "bench/memory_estimate.hpp"
#include "cli/options.hpp"
#include "collectives/strategy.hpp"
#include "common/error.hpp"
#include "tuner/cost_model.hpp"
#include "tuner/search.hpp"

namespace c2r {
namespace {

// dedup whose rows carry 8 inline floats per slot instead of 2.
StrategyDescriptor wide_dedup() {
  StrategyDescriptor d = find_strategy("dedup");
  d.name = "wide-dedup";
  d.help = "dedup with wider rows";
  d.rules.inline_floats_per_slot = 8;
  return d;
}

double exchange_buffers(const std::string& strategy) {
  RunOptions o;
  o.workload.tokens = 512;
  o.strategy = {strategy};
  o.placement = {"contiguous"};
  o.order = "sequential";  // the largest cell's buffers, not the sum with the added baseline's
  for (const auto& [what, bytes] : estimate_rank_memory(resolve_run_config(o, 2)).items) {
    if (what == "exchange buffers") return bytes;
  }
  return -1.0;
}

ClusterModel two_ranks() {
  ClusterModel c;
  c.name = "test";
  c.origin = "described";
  c.ranks = 2;
  c.node_of_rank = {0, 0};
  c.intra = {5e-6, 100e9};
  c.inter = {20e-6, 10e9};
  c.rates.expert_flops_per_s = 50e12;
  c.rates.router_flops_per_s = 50e12;
  c.rates.copy_Bps = 1000e9;
  return c;
}

TEST(StrategyRegistry, ARegisteredStrategyReachesEveryConsumer) {
  register_strategy(wide_dedup());
  const StrategyDescriptor& wide = find_strategy("wide-dedup");
  EXPECT_EQ(strategy_names().back(), "wide-dedup");
  EXPECT_NE(strategy_help().find("wide-dedup: dedup with wider rows"), std::string::npos);

  // The grid: one cell of it per routing, plus the baseline the grid lacked.
  RunOptions o;
  o.routing = {"vanilla"};
  o.placement = {"contiguous"};
  o.strategy = {"wide-dedup"};
  const RunConfig config = resolve_run_config(o, 2);
  ASSERT_EQ(config.cells.size(), 2u);
  EXPECT_EQ(config.cells[0].strategy, &wide);
  EXPECT_EQ(config.cells[1].strategy, &baseline_strategy());

  // Memory: the same rows as dedup's, each H + 8k floats instead of H + 2k (H = 4096, k = 2).
  EXPECT_DOUBLE_EQ(exchange_buffers("wide-dedup") / exchange_buffers("dedup"),
                   (4096.0 + 16) / (4096.0 + 4));

  // Cost model: one row per (token, destination rank) as dedup, with the wider dispatch rows.
  ModelConfig model = make_model("llama-moe-3.5b", {});
  model.experts = 4;
  RoutingSample sample;
  sample.experts = 4;
  sample.top_k = 2;
  sample.expert_ids = {0, 1, 0, 2, 2, 3, 1, 3};  // tokens 0,1 on rank 0; 2,3 on rank 1
  const std::vector<int> owner = {0, 0, 1, 1};
  const Prediction p_dedup =
      CostModel(two_ranks(), model, 2, find_strategy("dedup"), 1.0, 4).predict(sample, owner);
  const Prediction p_wide = CostModel(two_ranks(), model, 2, wide, 1.0, 4).predict(sample, owner);
  // Two remote rows (token 1 to rank 1, token 3 to rank 0), each way.
  const double h = 4096.0 * 4;
  EXPECT_DOUBLE_EQ(p_dedup.remote_bytes, 2 * ((4096.0 + 4) * 4 + h));
  EXPECT_DOUBLE_EQ(p_wide.remote_bytes, 2 * ((4096.0 + 16) * 4 + h));
  EXPECT_GT(p_wide.time.dispatch, p_dedup.time.dispatch);
  EXPECT_DOUBLE_EQ(p_wide.time.combine, p_dedup.time.combine);

  // The placement search optimises it like any placement-sensitive strategy.
  const SearchResult found =
      search_placement(CostModel(two_ranks(), model, 2, wide, 1.0, 4), sample, SearchOptions{});
  EXPECT_EQ(found.expert_rank.size(), 4u);
}

TEST(StrategyRegistry, RefusesDuplicatesIncompleteDescriptorsAndUnknownNames) {
  StrategyDescriptor copy = find_strategy("dropless");
  EXPECT_THROW(register_strategy(copy), Error);  // "dropless" is taken
  copy.name = "no-steps";
  copy.make_cpu = nullptr;
  EXPECT_THROW(register_strategy(copy), Error);
  try {
    find_strategy("Dropless");
    FAIL() << "an unknown name was accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("known: padded, dropless, dedup"), std::string::npos);
  }
  EXPECT_EQ(baseline_strategy().name, "dropless");
  EXPECT_TRUE(capacity_strategy().rules.capacity_limited());
}

}  // namespace
}  // namespace c2r
