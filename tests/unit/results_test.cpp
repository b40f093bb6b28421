// Statistics, reports, atomic files and the run grid.
#include <gtest/gtest.h>

#include <unistd.h>

#include <filesystem>

#include "common/error.hpp"
#include "common/file_io.hpp"
#include "results/report.hpp"
#include "results/stats.hpp"
#include "suites/run_config.hpp"

namespace c2r {
namespace {

TEST(Stats, PercentilesInterpolateLinearly) {
  const Stats s = summarize({5, 1, 4, 2, 3, 10, 7, 6, 9, 8});
  EXPECT_EQ(s.n, 10);
  EXPECT_DOUBLE_EQ(s.min, 1);
  EXPECT_DOUBLE_EQ(s.max, 10);
  EXPECT_DOUBLE_EQ(s.mean, 5.5);
  EXPECT_DOUBLE_EQ(s.median, 5.5);
  EXPECT_DOUBLE_EQ(s.p10, 1.9);  // numpy.percentile(range(1, 11), 10)
  EXPECT_DOUBLE_EQ(s.p90, 9.1);
  EXPECT_NEAR(s.p99, 9.91, 1e-12);
}

TEST(Report, RoundTripKeepsFieldsAndIgnoresUnknownOnes) {
  nlohmann::json results = nlohmann::json::array();
  results.push_back({{"phases", {{"layer", stats_json({3, 1, 2})}}}, {"future_field", 42}});
  const nlohmann::json report = make_report({{"ranks", 2}}, {{"tokens_per_rank", 8}}, results);
  const nlohmann::json back = parse_report(report.dump(), "r.json");
  EXPECT_EQ(back["config"]["tokens_per_rank"], 8);
  EXPECT_EQ(stats_from_json(back["results"][0]["phases"]["layer"]).median, 2);
  EXPECT_EQ(back["results"][0]["future_field"], 42);
}

TEST(Report, RejectsOtherSchemasNewerVersionsAndBrokenText) {
  const nlohmann::json good = make_report({{"a", 1}}, {{"b", 2}}, nlohmann::json::array());
  nlohmann::json other = good, newer = good, no_results = good;
  other["schema"] = "nccl-tests";
  newer["schema_version"] = 2;
  no_results.erase("results");
  EXPECT_THROW(parse_report(other.dump(), "o"), Error);
  EXPECT_THROW(parse_report(newer.dump(), "n"), Error);
  EXPECT_THROW(parse_report(no_results.dump(), "m"), Error);
  const std::string text = good.dump();
  EXPECT_THROW(parse_report(text.substr(0, text.size() - 3), "t"), Error);
}

TEST(FileIo, AtomicWriteRefusesToOverwriteAndLeavesNoTemporaries) {
  namespace fs = std::filesystem;
  const fs::path dir = fs::temp_directory_path() / ("c2r-unit-" + std::to_string(getpid()));
  const std::string path = (dir / "sub" / "report.json").string();
  write_file_atomically(path, "first", false);
  EXPECT_EQ(read_text_file(path), "first");
  EXPECT_THROW(write_file_atomically(path, "second", false), Error);
  EXPECT_EQ(read_text_file(path), "first");
  int files = 0;
  for (const auto& entry : fs::directory_iterator(dir / "sub")) files += entry.is_regular_file();
  EXPECT_EQ(files, 1);
  try {
    read_text_file((dir / "missing.json").string());
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("missing.json"), std::string::npos);
  }
  fs::remove_all(dir);
}

void expect_refused(RunOptions o, int ranks, const std::string& needle) {
  try {
    resolve_run_config(o, ranks);
    FAIL() << "accepted; expected: " << needle;
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
  }
}

TEST(RunConfig, BadOptionsAreRefusedByName) {
  RunOptions o;
  o.preset = "mixtral";
  expect_refused(o, 2, "unknown preset 'mixtral'");
  o = RunOptions();
  o.strategy = {"dropless", "zero-copy"};
  expect_refused(o, 2, "unknown strategy 'zero-copy'");
  o = RunOptions();
  o.routing = {"hash"};
  expect_refused(o, 2, "unknown routing 'hash'");
  o = RunOptions();
  o.workload = "zipf";
  expect_refused(o, 2, "unknown workload 'zipf'");
  o = RunOptions();
  o.top_t = {0};
  expect_refused(o, 2, "--top-t 0 is out of range");
  o = RunOptions();
  o.tokens = 0;
  expect_refused(o, 2, "--tokens must be at least 1");
  expect_refused(RunOptions(), 3, "do not divide");
  o = RunOptions();
  o.workload = "random";
  o.layer = "all";
  expect_refused(o, 2, "--layer all needs --workload trace");
  o = RunOptions();
  o.layer = "3,x";
  expect_refused(o, 2, "--layer must be");
}

TEST(RunConfig, GridHasOneCellPerCombinationAndOneBaseline) {
  RunOptions o;
  o.routing = {"vanilla", "c2r"};
  o.top_t = {1, 2};
  o.strategy = {"padded", "dropless", "dedup"};
  o.placement = {"contiguous", "collab"};
  const RunConfig c = resolve_run_config(o, 2);
  EXPECT_EQ(c.cells.size(), 18u);
  int baselines = 0;
  for (const auto& cell : c.cells) baselines += cell.baseline;
  EXPECT_EQ(baselines, 1);

  o.strategy = {"dedup"};
  const RunConfig without = resolve_run_config(o, 2);
  ASSERT_EQ(without.cells.size(), 7u);  // 1 + 2 Top-T, x 2 placements, + the added baseline
  int added = 0;
  for (const auto& cell : without.cells) added += cell.baseline && !cell.in_grid;
  EXPECT_EQ(added, 1);
}

}  // namespace
}  // namespace c2r
