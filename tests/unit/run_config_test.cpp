// `c2rbench run` options: validation messages and the expanded grid of cells.
#include <gtest/gtest.h>

#include <map>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include "cli/options.hpp"
#include "common/error.hpp"

namespace c2r {
namespace {

void expect_refused(const RunOptions& o, int ranks, const std::string& needle) {
  try {
    resolve_run_config(o, ranks);
    ADD_FAILURE() << "accepted; expected: " << needle;
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
  }
}

TEST(RunConfig, TopTOutOfRangeForEitherPreset) {
  RunOptions o;
  o.top_t = {1, 8};
  expect_refused(o, 2, "--top-t 8 is out of range");
  o.top_t = {-1};
  expect_refused(o, 2, "--top-t -1");
  o = RunOptions();
  o.workload.preset = "qwen1.5-moe-a2.7b";
  o.top_t = {2};
  expect_refused(o, 4, "--top-t 2 is out of range");
  o.top_t = {60};
  expect_refused(o, 4, "--top-t 60 is out of range");
  o.top_t = {3, 59};
  EXPECT_NO_THROW(resolve_run_config(o, 4));
  // Top-T only matters to C2R: a vanilla-only grid ignores it.
  o = RunOptions();
  o.routing = {"vanilla"};
  o.top_t = {99};
  const RunConfig vanilla = resolve_run_config(o, 2);
  for (const auto& cell : vanilla.cells) EXPECT_EQ(cell.top_t, 0);
}

TEST(RunConfig, MoreRefusals) {
  RunOptions o;
  o.workload.tokens = -3;
  expect_refused(o, 2, "--tokens must be at least 1");
  o = RunOptions();
  o.workload.preset = "qwen1.5-moe-a2.7b";
  expect_refused(o, 7, "60 experts do not divide over 7 ranks");
  EXPECT_NO_THROW(resolve_run_config(o, 6));
  o = RunOptions();
  o.workload.overrides.experts = 12;
  expect_refused(o, 8, "do not divide");
  o = RunOptions();
  o.placement = {"contiguous", "round-robin", "collab", "my/placement.json"};  // files load later
  EXPECT_NO_THROW(resolve_run_config(o, 2));
  o = RunOptions();
  o.strategy = {"padded", "Dedup"};
  expect_refused(o, 2, "unknown strategy 'Dedup'");
  o = RunOptions();
  o.routing = {"vanilla", "C2R"};
  expect_refused(o, 2, "unknown routing 'C2R'");
  o = RunOptions();
  o.workload.kind = "clustered";
  o.layer = "all";
  expect_refused(o, 2, "--layer all needs --workload trace");
  o.layer = "-1";
  expect_refused(o, 2, "--layer must be");
  o.layer = "1,";
  expect_refused(o, 2, "--layer must be");
  o = RunOptions();
  o.process.backend = "tpu";
  expect_refused(o, 2, "unknown backend 'tpu'");
}

using CellKey = std::tuple<int, int, int, std::string, std::string>;
CellKey key_of(const Cell& c) {
  return {c.layer, static_cast<int>(c.routing), c.top_t, c.placement, c.strategy->name};
}

TEST(RunConfig, GridCellsAreEveryCombinationOnceWithTheBaselineFlagged) {
  RunOptions o;
  o.routing = {"vanilla", "c2r"};
  o.top_t = {1, 2};
  o.strategy = {"padded", "dropless", "dedup"};
  o.placement = {"contiguous", "collab"};
  const RunConfig c = resolve_run_config(o, 2);
  ASSERT_EQ(c.cells.size(), 18u);
  std::set<CellKey> keys;
  for (const auto& cell : c.cells) {
    EXPECT_TRUE(keys.insert(key_of(cell)).second) << "duplicate cell";
    EXPECT_TRUE(cell.in_grid);
    EXPECT_EQ(cell.layer, 0);
    if (cell.routing == RoutingMode::kVanilla) {
      EXPECT_EQ(cell.top_t, 0);
    } else {
      EXPECT_TRUE(cell.top_t == 1 || cell.top_t == 2) << cell.top_t;
    }
    const bool is_baseline = cell.routing == RoutingMode::kVanilla &&
                             cell.strategy->name == "dropless" && cell.placement == "contiguous";
    EXPECT_EQ(cell.baseline, is_baseline);
  }
  // Cells sharing (routing, top_t, placement) are adjacent: 6 runs of 3 strategies.
  std::set<std::tuple<int, int, std::string>> finished;
  for (size_t i = 0; i < c.cells.size(); ++i) {
    const auto group = std::make_tuple(static_cast<int>(c.cells[i].routing), c.cells[i].top_t,
                                       c.cells[i].placement);
    if (i > 0 && group != std::make_tuple(static_cast<int>(c.cells[i - 1].routing),
                                          c.cells[i - 1].top_t, c.cells[i - 1].placement)) {
      finished.insert(std::make_tuple(static_cast<int>(c.cells[i - 1].routing),
                                      c.cells[i - 1].top_t, c.cells[i - 1].placement));
    }
    EXPECT_EQ(finished.count(group), 0u) << "group split at cell " << i;
  }
  EXPECT_EQ(c.ranks, 2);
  EXPECT_EQ(c.tokens_per_rank, 1024);
  EXPECT_EQ(c.model.experts, 8);
  const nlohmann::json j = c.to_json(ProcessOptions{});
  EXPECT_EQ(j["top_t"], (std::vector<int>{1, 2}));
  EXPECT_EQ(j["strategy"].size(), 3u);
}

TEST(RunConfig, MissingBaselineIsAddedOutsideTheGrid) {
  for (auto [strategies, placements, routings] :
       {std::tuple<std::vector<std::string>, std::vector<std::string>, std::vector<std::string>>{
            {"dedup", "padded"}, {"contiguous", "collab"}, {"vanilla", "c2r"}},
        {{"dropless"}, {"collab"}, {"vanilla", "c2r"}},
        {{"dropless", "dedup"}, {"contiguous"}, {"c2r"}}}) {
    RunOptions o;
    o.strategy = strategies;
    o.placement = placements;
    o.routing = routings;
    o.top_t = {1};
    const RunConfig c = resolve_run_config(o, 2);
    // One Top-T value: one routing variant per --routing value, plus the added baseline.
    ASSERT_EQ(c.cells.size(), routings.size() * strategies.size() * placements.size() + 1);
    int added = 0, baselines = 0;
    for (const auto& cell : c.cells) {
      baselines += cell.baseline;
      if (!cell.in_grid) {
        ++added;
        EXPECT_TRUE(cell.baseline);
        EXPECT_EQ(cell.routing, RoutingMode::kVanilla);
        EXPECT_EQ(cell.strategy->name, "dropless");
        EXPECT_EQ(cell.placement, "contiguous");
        EXPECT_EQ(cell.top_t, 0);
      }
    }
    EXPECT_EQ(added, 1);
    EXPECT_EQ(baselines, 1);
    // The report's config lists what was asked for, not the added baseline.
    const nlohmann::json j = c.to_json(ProcessOptions{});
    EXPECT_EQ(j["strategy"].size(), strategies.size());
    EXPECT_EQ(j["placement"].size(), placements.size());
  }
}

TEST(RunConfig, EveryLayerGetsItsOwnBaseline) {
  RunOptions o;
  o.layer = "all";
  o.strategy = {"dedup"};
  o.routing = {"c2r"};
  o.placement = {"collab"};
  const RunConfig c = resolve_run_config(o, 4);
  ASSERT_EQ(c.layers.size(), 32u);
  EXPECT_EQ(c.layers.back(), 31);
  EXPECT_EQ(c.cells.size(), 64u);
  std::map<int, int> baselines;
  for (const auto& cell : c.cells) baselines[cell.layer] += cell.baseline;
  ASSERT_EQ(baselines.size(), 32u);
  for (const auto& [layer, count] : baselines) EXPECT_EQ(count, 1) << layer;
  o.layer = "3,17";
  EXPECT_EQ(resolve_run_config(o, 4).layers, (std::vector<int>{3, 17}));
}

TEST(RunConfig, RepeatedValuesDoNotRepeatCells) {
  RunOptions o;
  o.routing = {"vanilla", "c2r", "vanilla"};
  o.top_t = {2, 2};
  o.strategy = {"dropless", "dropless"};
  o.placement = {"contiguous"};
  const RunConfig c = resolve_run_config(o, 2);
  EXPECT_EQ(c.cells.size(), 2u);
}

TEST(RunConfig, RepeatedLayerIsRefused) {
  // A repeated layer would run its cells, and its baseline, twice.
  RunOptions o;
  o.layer = "5,5";
  try {
    resolve_run_config(o, 2);
    FAIL() << "--layer 5,5 accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("--layer lists layer 5 twice"), std::string::npos)
        << e.what();
  }
}

TEST(RunConfig, BadOptionsAreRefusedByName) {
  RunOptions o;
  o.workload.preset = "mixtral";
  expect_refused(o, 2, "unknown preset 'mixtral'");
  o = RunOptions();
  o.strategy = {"dropless", "zero-copy"};
  expect_refused(o, 2, "unknown strategy 'zero-copy'");
  o = RunOptions();
  o.routing = {"hash"};
  expect_refused(o, 2, "unknown routing 'hash'");
  o = RunOptions();
  o.workload.kind = "zipf";
  expect_refused(o, 2, "unknown workload 'zipf'");
  o = RunOptions();
  o.top_t = {0};
  expect_refused(o, 2, "--top-t 0 is out of range");
  o = RunOptions();
  o.workload.tokens = 0;
  expect_refused(o, 2, "--tokens must be at least 1");
  expect_refused(RunOptions(), 3, "do not divide");
  o = RunOptions();
  o.workload.kind = "random";
  o.layer = "all";
  expect_refused(o, 2, "--layer all needs --workload trace");
  o = RunOptions();
  o.layer = "3,x";
  expect_refused(o, 2, "--layer must be");
}

TEST(RunConfig, RankTokensGiveEachRankItsOwnRange) {
  RunOptions o;
  o.workload.kind = "random";
  o.rank_tokens = "40,0,96,7";
  const RunConfig c = resolve_run_config(o, 4);
  EXPECT_EQ(c.rank_tokens, (std::vector<int64_t>{40, 0, 96, 7}));
  EXPECT_TRUE(c.uneven());
  EXPECT_EQ(c.tokens_per_rank, 96);  // the largest: it sizes the padded capacity on every rank
  EXPECT_EQ(c.first_token(0), 0);
  EXPECT_EQ(c.first_token(2), 40);
  EXPECT_EQ(c.first_token(3), 136);
  EXPECT_EQ(c.total_tokens(), 143);
  EXPECT_EQ(c.to_json(ProcessOptions{})["rank_tokens"], nlohmann::json({40, 0, 96, 7}));

  RunOptions uniform;
  uniform.workload.tokens = 32;
  const RunConfig u = resolve_run_config(uniform, 4);
  EXPECT_FALSE(u.uneven());
  EXPECT_EQ(u.total_tokens(), 128);
  EXPECT_FALSE(u.to_json(ProcessOptions{}).contains("rank_tokens"));
}

TEST(RunConfig, RankTokensRefusals) {
  RunOptions o;
  o.rank_tokens = "4,4,4";
  expect_refused(o, 2, "--rank-tokens lists 3 counts; the job has 2 ranks");
  o.rank_tokens = "0,0";
  expect_refused(o, 2, "every count is 0");
  o.rank_tokens = "4,-1";
  expect_refused(o, 2, "'-1' is not a token count");
  o.rank_tokens = "4,x";
  expect_refused(o, 2, "'x' is not a token count");
  o.rank_tokens = "4,8";
  o.sweep = "tokens=8,16";
  expect_refused(o, 2, "cannot be combined");
  o = RunOptions();
  o.workload.kind = "hot";
  o.workload.hot_experts = 9;
  expect_refused(o, 2, "--hot-experts must be between 1 and the number of experts 8");
}

TEST(RunConfig, MinTimeAndItsCap) {
  RunOptions o;
  o.iters = 5;
  o.min_time = 0.5;
  o.max_iters = 200;
  const RunConfig c = resolve_run_config(o, 2);
  EXPECT_EQ(c.loops.iterations, 5);
  EXPECT_EQ(c.loops.min_seconds, 0.5);
  EXPECT_EQ(c.loops.max_iterations, 200);
  EXPECT_EQ(c.schedule().loops.min_seconds, 0.5);  // what the schedule gets
  const nlohmann::json config = c.to_json(ProcessOptions{});
  EXPECT_EQ(config["min_time_s"], 0.5);
  EXPECT_EQ(config["max_iterations"], 200);
  const nlohmann::json off = resolve_run_config(RunOptions(), 2).to_json(ProcessOptions{});
  EXPECT_EQ(off["min_time_s"], 0.0);
  EXPECT_FALSE(off.contains("max_iterations"));

  o.max_iters = 4;  // below --iters: the cap would cut the iterations every cell runs
  expect_refused(o, 2, "--max-iters 4 is below --iters 5");
  o.min_time = 0.0;  // without a minimum time the cap plays no part
  EXPECT_NO_THROW(resolve_run_config(o, 2));
  o.min_time = -1.0;
  expect_refused(o, 2, "--min-time must be a finite number of seconds");
}

TEST(TokenSweep, ListsAndGeometricRanges) {
  EXPECT_EQ(parse_token_sweep("tokens=8,16,4"), (std::vector<int64_t>{8, 16, 4}));
  EXPECT_EQ(parse_token_sweep("tokens=1:4096:x2"),
            (std::vector<int64_t>{1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096}));
  EXPECT_EQ(parse_token_sweep("tokens=3:100:x3"), (std::vector<int64_t>{3, 9, 27, 81}));
  EXPECT_EQ(parse_token_sweep("tokens=5:5:x2"), (std::vector<int64_t>{5}));
  EXPECT_EQ(parse_token_sweep("tokens=1:256:x16"), (std::vector<int64_t>{1, 16, 256}));
  // Up to 2^62 and near 2^63 - 1: the step past STOP is never formed (it would overflow).
  const std::vector<int64_t> big = parse_token_sweep("tokens=1:4611686018427387904:x2");
  ASSERT_EQ(big.size(), 63u);
  EXPECT_EQ(big.back(), int64_t{1} << 62);
  const std::vector<int64_t> top = parse_token_sweep("tokens=1:9223372036854775807:x2");
  ASSERT_EQ(top.size(), 63u);
  EXPECT_EQ(top.back(), int64_t{1} << 62);
  const std::vector<int64_t> wide = parse_token_sweep("tokens=3:9223372036854775807:x1000000000");
  EXPECT_EQ(wide, (std::vector<int64_t>{3, 3000000000, 3000000000000000000}));
}

TEST(TokenSweep, RefusesMalformedRangesNamingTheFlag) {
  const std::vector<std::pair<std::string, std::string>> refused = {
      {"tokens=1:4096", "is not tokens=START:STOP:xFACTOR"},
      {"tokens=1:4096:2", "is not tokens=START:STOP:xFACTOR"},
      {"tokens=1:4096:x2:x2", "is not tokens=START:STOP:xFACTOR"},
      {"tokens=1:4096:x1", "FACTOR 'x1' is not a whole number of 2 or more"},
      {"tokens=1:4096:x0", "FACTOR 'x0'"},
      {"tokens=1:4096:x", "FACTOR 'x'"},
      {"tokens=1:4096:x-2", "FACTOR 'x-2'"},
      {"tokens=1:4096:x2.5", "FACTOR 'x2.5'"},
      {"tokens=1:4096:x99999999999999999999", "FACTOR 'x99999999999999999999'"},
      {"tokens=0:4096:x2", "START '0' is not a positive token count"},
      {"tokens=-1:4096:x2", "START '-1'"},
      {"tokens=:4096:x2", "START ''"},
      {"tokens=1:0:x2", "STOP '0' is not a positive token count"},
      {"tokens=1:9223372036854775808:x2", "STOP '9223372036854775808'"},
      {"tokens=1: 8:x2", "STOP ' 8'"},
      {"tokens=64:8:x2", "STOP 8 is below START 64"},
      {"tokens=8,16:32:x2", "START '8,16'"},
      {"ranks=1:4:x2", "only tokens=V1,V2,... or tokens=START:STOP:xFACTOR"},
      {"tokens=8,x", "'x' is not a positive token count"},
      {"tokens=8,8", "lists tokens=8 twice"},
  };
  for (const auto& [text, needle] : refused) {
    try {
      parse_token_sweep(text);
      ADD_FAILURE() << text << " accepted";
    } catch (const Error& e) {
      const std::string message = e.what();
      EXPECT_NE(message.find(needle), std::string::npos) << text << ": " << message;
      EXPECT_NE(message.find("--sweep"), std::string::npos) << text << ": " << message;
    }
  }
}

}  // namespace
}  // namespace c2r
