// `c2rbench compare`: verdicts, regressions beyond a threshold, cell alignment and context
// warnings, sides of repeated runs (the bootstrap intervals themselves: bootstrap_test.cpp).

#include <gtest/gtest.h>

#include <functional>
#include <sstream>

#include "common/error.hpp"
#include "common/rng.hpp"
#include "results/compare.hpp"
#include "results/report.hpp"
#include "results/stats.hpp"

namespace c2r {
namespace {

using nlohmann::json;

std::vector<double> noisy(double centre, int n, double spread) {
  std::vector<double> v;
  for (int i = 0; i < n; ++i) v.push_back(centre + spread * ((i * 37 % 11) - 5) / 5.0);
  return v;
}

json report_with(const std::vector<double>& layer_us, const std::string& host = "h") {
  json cell = {{"layer", 0},
               {"routing", "vanilla"},
               {"top_t", nullptr},
               {"strategy", "dropless"},
               {"placement", "contiguous"},
               {"phases", {{"layer", stats_json(layer_us)}}}};
  return {{"schema", "c2rbench.report"},
          {"schema_version", 1},
          {"context", {{"hosts", {host}}, {"ranks", 2}}},
          {"config", {{"tokens_per_rank", 64}}},
          {"results", {cell}}};
}

// The report as compare reads it from a file.
Report typed(const json& report) {
  return report_from_json(report, "test.json");
}

TEST(Compare, VerdictsAndRegressionsBeyondTheThreshold) {
  CompareOptions options;
  options.phases = {"layer"};
  options.threshold = 0.05;
  const json base = report_with(noisy(100, 30, 2));
  const json slower = report_with(noisy(120, 30, 2));
  const json faster = report_with(noisy(80, 30, 2));
  const json slightly = report_with(noisy(103, 30, 0.5));
  const json c =
      compare_reports({typed(base), typed(slower), typed(faster), typed(slightly), typed(base)},
                      {"a", "slower", "faster", "slightly", "same"}, options);
  ASSERT_EQ(c["rows"].size(), 4u);
  EXPECT_EQ(c["rows"][0]["verdict"], "regression");
  EXPECT_EQ(c["rows"][1]["verdict"], "faster");
  EXPECT_EQ(c["rows"][2]["verdict"], "slower");  // significant, but within 5%
  EXPECT_EQ(c["rows"][3]["verdict"], "same");
  EXPECT_EQ(c["regressions"], 1);
  EXPECT_EQ(c["rows"][0]["runs"], json({1, 1}));
  ASSERT_EQ(c["warnings"].size(), 1u);  // one line: every side is a single run
  EXPECT_NE(c["warnings"][0].get<std::string>().find("a, slower, faster, slightly, same are one "
                                                     "run each"),
            std::string::npos);
  std::ostringstream table, markdown;
  print_comparison(table, c, "table");
  print_comparison(markdown, c, "markdown");
  EXPECT_NE(table.str().find("1 significant regression(s) beyond 5.0%"), std::string::npos);
  EXPECT_NE(markdown.str().find("| slower | layer 0 vanilla dropless contiguous | layer |"),
            std::string::npos);
  EXPECT_THROW(print_comparison(table, c, "html"), Error);
}

TEST(Compare, UnmatchedCellsAndContextWarnings) {
  json other = report_with(noisy(100, 10, 1), "elsewhere");
  other["results"][0]["strategy"] = "dedup";
  const json c = compare_reports({typed(report_with(noisy(100, 10, 1))), typed(other)}, {"a", "b"},
                                 CompareOptions{});
  EXPECT_TRUE(c["rows"].empty());
  EXPECT_EQ(c["unmatched"].size(), 2u);  // each side's cell lacks its match
  ASSERT_EQ(c["warnings"].size(), 2u);   // single runs, then the context
  EXPECT_NE(c["warnings"][1].get<std::string>().find("b: hosts differ from the reference's"),
            std::string::npos);
  EXPECT_THROW(compare_reports({typed(other)}, {"b"}, CompareOptions{}), Error);
}

// The recorded environment: variables that change results are warned about by name; the
// launcher's own bookkeeping (ids, addresses, directories) is not.
TEST(Compare, EnvironmentDifferencesThatChangeResults) {
  json a = report_with(noisy(100, 10, 1));
  json b = report_with(noisy(100, 10, 1));
  a["context"]["environment"] = {{"OMP_NUM_THREADS", "1"},
                                 {"OMPI_MCA_btl", "self,vader"},
                                 {"OMPI_MCA_orte_hnp_uri", "1.0;tcp://a"},
                                 {"OMPI_COMM_WORLD_RANK", "0"},
                                 {"SLURM_JOB_ID", "17"}};
  b["context"]["environment"] = {{"OMPI_MCA_btl", "self,tcp"},
                                 {"OMPI_MCA_orte_hnp_uri", "2.0;tcp://b"},
                                 {"OMPI_COMM_WORLD_RANK", "0"},
                                 {"SLURM_JOB_ID", "18"},
                                 {"NCCL_ALGO", "Ring"}};
  const json c = compare_reports({typed(a), typed(b)}, {"a", "b"}, CompareOptions{});
  ASSERT_EQ(c["warnings"].size(), 2u) << c["warnings"].dump();  // single runs, the environment
  EXPECT_EQ(c["warnings"][1].get<std::string>(),
            "b: environment differs from the reference's: NCCL_ALGO (Ring against unset), "
            "OMPI_MCA_btl (self,tcp against self,vader), OMP_NUM_THREADS (unset against 1)");
}

// Repeated runs of one side: run r's layer samples are centre * (1 + run_offsets[r]) with 1%
// Gaussian noise, `iterations` each; the offsets are a run effect far above the noise. Sources
// are NAME1.json, NAME2.json, ...
CompareSide side_of(const std::string& name, double centre, const std::vector<double>& run_offsets,
                    int iterations, uint64_t seed) {
  CompareSide side;
  for (size_t r = 0; r < run_offsets.size(); ++r) {
    Rng rng(seed, Stream::kPlacement, r);
    std::vector<double> samples;
    for (int i = 0; i < iterations; ++i) {
      samples.push_back(centre * (1.0 + run_offsets[r]) * (1.0 + 0.01 * rng.normal()));
    }
    side.runs.push_back(typed(report_with(samples)));
    side.sources.push_back(name + std::to_string(r + 1) + ".json");
  }
  return side;
}

CompareOptions layer_only() {
  CompareOptions options;
  options.phases = {"layer"};
  return options;
}

const std::vector<double> kRunOffsetsA = {-0.08, 0.06, -0.02, 0.09, -0.05};
const std::vector<double> kRunOffsetsB = {0.07, -0.06, 0.01, -0.09, 0.04};

// Two sides drawn from one distribution of runs: the first run of each differs by its run effect,
// which one run each calls significant; five runs each say "same".
TEST(Compare, RepeatedRunsOfTheSameDistributionAreTheSame) {
  const CompareSide a = side_of("a", 100, kRunOffsetsA, 20, 1);
  const CompareSide b = side_of("b", 100, kRunOffsetsB, 20, 2);
  const json one_each = compare_reports(
      std::vector<CompareSide>{{{a.runs[0]}, {a.sources[0]}}, {{b.runs[0]}, {b.sources[0]}}},
      layer_only());
  ASSERT_EQ(one_each["rows"].size(), 1u);
  EXPECT_EQ(one_each["rows"][0]["verdict"], "slower");  // the run effect alone

  const json c = compare_reports(std::vector<CompareSide>{a, b}, layer_only());
  ASSERT_EQ(c["rows"].size(), 1u);
  const json& row = c["rows"][0];
  EXPECT_EQ(row["verdict"], "same") << row.dump();
  EXPECT_EQ(row["runs"], json({5, 5}));
  EXPECT_EQ(row["samples"], json({100, 100}));
  EXPECT_LE(row["ci_low"].get<double>(), 1.0);
  EXPECT_GE(row["ci_high"].get<double>(), 1.0);
  EXPECT_EQ(c["reference"], "a1.json,a2.json,a3.json,a4.json,a5.json");
  EXPECT_EQ(c["sides"][1]["reports"].size(), 5u);
  EXPECT_TRUE(c["warnings"].empty()) << c["warnings"].dump();  // no single runs, one config
}

TEST(Compare, RepeatedRunsFindADifferenceLargerThanTheRunEffect) {
  const CompareSide base = side_of("base", 100, kRunOffsetsA, 20, 3);
  const CompareSide slow = side_of("slow", 130, kRunOffsetsB, 20, 4);
  const CompareSide fast = side_of("fast", 70, kRunOffsetsB, 20, 5);
  CompareOptions options = layer_only();
  options.threshold = 0.1;
  const json c = compare_reports(std::vector<CompareSide>{base, slow, fast}, options);
  ASSERT_EQ(c["rows"].size(), 2u);
  EXPECT_EQ(c["rows"][0]["verdict"], "regression") << c["rows"][0].dump();
  EXPECT_EQ(c["rows"][1]["verdict"], "faster") << c["rows"][1].dump();
  EXPECT_EQ(c["regressions"], 1);
  EXPECT_NEAR(c["rows"][0]["ratio"].get<double>(), 1.3, 0.05);
}

// One sample on a side gives no verdict, however large the difference, and no collapsed
// interval; a side of three runs of one sample each has three samples and gets one.
TEST(Compare, TooFewSamplesGiveNoVerdict) {
  CompareSide single{{typed(report_with({100.0}))}, {"single.json"}};
  const CompareSide many = side_of("many", 200, {0.0, 0.01, -0.01}, 10, 6);
  const json c = compare_reports(std::vector<CompareSide>{single, many}, layer_only());
  ASSERT_EQ(c["rows"].size(), 1u);
  const json& row = c["rows"][0];
  EXPECT_EQ(row["verdict"], "n/a");
  EXPECT_NE(row["reason"].get<std::string>().find("1 sample(s) in single.json"), std::string::npos)
      << row.dump();
  EXPECT_TRUE(row["ci_low"].is_null());
  EXPECT_TRUE(row["ci_high"].is_null());
  EXPECT_GT(row["ratio"].get<double>(), 1.9);  // the point ratio is still reported
  std::ostringstream table;
  print_comparison(table, c, "table");
  EXPECT_NE(table.str().find("n/a (1 row(s)): 1 sample(s) in single.json"), std::string::npos)
      << table.str();
  // The row: no collapsed interval ("-"), no verdict.
  const std::string text = table.str();
  const size_t line = text.find("many1.json");
  ASSERT_NE(line, std::string::npos) << text;
  const std::string row_line = text.substr(line, text.find('\n', line) - line);
  EXPECT_NE(row_line.find(" - "), std::string::npos) << row_line;
  EXPECT_NE(row_line.find(" n/a"), std::string::npos) << row_line;
  EXPECT_EQ(row_line.find("slower"), std::string::npos) << row_line;

  CompareSide singles{
      {typed(report_with({100.0})), typed(report_with({101.0})), typed(report_with({99.0}))},
      {"s1.json", "s2.json", "s3.json"}};
  const json three = compare_reports(std::vector<CompareSide>{singles, many}, layer_only());
  EXPECT_EQ(three["rows"][0]["samples"], json({3, 30}));
  EXPECT_EQ(three["rows"][0]["verdict"], "slower") << three["rows"][0].dump();
}

// A cell missing from one run of a side is taken from the side's other runs; repeated runs whose
// configurations differ are warned about, by key.
TEST(Compare, CellsMissingFromARunAndDifferingConfigurations) {
  CompareSide a = side_of("a", 100, {0.0, 0.01, -0.01}, 10, 7);
  const CompareSide b = side_of("b", 100, {0.01, 0.0, -0.01}, 10, 8);
  json other_layer = report_with(noisy(100, 10, 1));  // a report has results, here another cell
  other_layer["results"][0]["layer"] = 1;
  other_layer["config"]["iterations"] = 7;
  a.runs[1] = typed(other_layer);
  const json c = compare_reports(std::vector<CompareSide>{a, b}, layer_only());
  ASSERT_EQ(c["rows"].size(), 1u);
  EXPECT_EQ(c["rows"][0]["runs"], json({2, 3}));
  ASSERT_EQ(c["unmatched"].size(), 1u) << c["unmatched"].dump();
  EXPECT_NE(c["unmatched"][0].get<std::string>().find("layer 1 vanilla dropless contiguous (not in "
                                                      "b1.json"),
            std::string::npos)
      << c["unmatched"].dump();
  ASSERT_EQ(c["warnings"].size(), 1u) << c["warnings"].dump();
  EXPECT_EQ(c["warnings"][0],
            "a2.json: configuration differs from a1.json's, a run of the same side (iterations)");
}

// `message` is thrown as a c2r::Error by `run`, containing every one of `needles`.
void expect_error(const std::function<void()>& run, const std::vector<std::string>& needles) {
  try {
    run();
    ADD_FAILURE() << "no error; expected " << needles.front();
  } catch (const Error& e) {
    for (const auto& needle : needles) {
      EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
    }
  }
}

TEST(Compare, AnUnknownPhaseIsAnErrorNamingTheKnownOnes) {
  const CompareSide a = side_of("a", 100, {0.0, 0.01, -0.01}, 10, 11);
  const CompareSide b = side_of("b", 100, {0.01, 0.0, -0.01}, 10, 12);
  CompareOptions options;
  options.phases = {"layer", "total"};
  expect_error(
      [&] {
        compare_reports(std::vector<CompareSide>{a, b}, options);
      },
      {"unknown phase 'total'",
       "(known: gate, permute, dispatch, expert, combine, unpermute, sync, layer)"});
  options.phases = {"sync"};  // stored in every report, though no table column shows it
  EXPECT_TRUE(compare_reports(std::vector<CompareSide>{a, b}, options)["rows"].empty());
}

// A phase timed as 0 on one side only (the PyTorch peer's exchange on one GPU against a measured
// one) has no ratio: 0 against 122,190 us is neither "same" nor "n/a" but an error naming the cell
// and the phase. Both sides 0: a phase neither timed, "n/a" with no ratio.
TEST(Compare, ZeroMedianAgainstATimedOneIsRefusedByCellAndPhase) {
  Rng rng(13, Stream::kPlacement, 0);
  std::vector<double> timed;
  for (int i = 0; i < 20; ++i) timed.push_back(122190.0 * (1.0 + 0.01 * rng.normal()));
  const std::vector<double> untimed(20, 0.0);
  for (const bool zero_first : {true, false}) {
    const Report reference = typed(report_with(zero_first ? untimed : timed));
    const Report other = typed(report_with(zero_first ? timed : untimed));
    expect_error(
        [&] {
          compare_reports({reference, other}, {"ref.json", "new.json"}, layer_only());
        },
        {"layer 0 vanilla dropless contiguous, phase layer: the median is",
         zero_first ? "0.0 us in ref.json" : "0.0 us in new.json", "cannot be compared"});
  }
  const json c = compare_reports({typed(report_with(untimed)), typed(report_with(untimed))},
                                 {"ref.json", "new.json"}, layer_only());
  ASSERT_EQ(c["rows"].size(), 1u);
  EXPECT_EQ(c["rows"][0]["verdict"], "n/a");
  EXPECT_TRUE(c["rows"][0]["ratio"].is_null());
  EXPECT_NE(c["rows"][0]["reason"].get<std::string>().find("0 us on both sides"),
            std::string::npos);
  std::ostringstream table;
  print_comparison(table, c, "table");
  EXPECT_NE(table.str().find("n/a (1 row(s)): 0 us on both sides"), std::string::npos)
      << table.str();
}

TEST(Compare, ResamplesAboveTheCapAreRefused) {
  const CompareSide a = side_of("a", 100, {0.0}, 10, 14);
  const CompareSide b = side_of("b", 110, {0.0}, 10, 15);
  CompareOptions options = layer_only();
  options.resamples = kMaxResamples + 1;
  expect_error(
      [&] {
        compare_reports(std::vector<CompareSide>{a, b}, options);
      },
      {"at most 100000 bootstrap resamples, not 100001"});
  options.resamples = kMaxResamples;  // the cap itself is allowed
  EXPECT_EQ(compare_reports(std::vector<CompareSide>{a, b}, options)["rows"][0]["verdict"],
            "slower");
}

// Bounded work: a side of more samples than kMaxBootstrapSamples is resampled from that many,
// evenly spaced, and the output says so (a "capped" note in the table and markdown, the counts in
// the JSON); the medians and the ratio still use every sample.
TEST(Compare, SamplesBeyondTheCapAreThinnedAndTheOutputSaysSo) {
  const CompareSide base = side_of("base", 100, {-0.01, 0.02}, 60000, 16);  // 120,000 samples
  const CompareSide slow = side_of("slow", 130, {0.01}, 25000, 17);
  const CompareSide small = side_of("small", 100, {0.0, 0.01, -0.01}, 20, 18);
  const json c = compare_reports(std::vector<CompareSide>{base, slow, small}, layer_only());
  ASSERT_EQ(c["rows"].size(), 2u);
  const json& capped = c["rows"][0];
  EXPECT_EQ(capped["samples"], json({120000, 25000}));
  EXPECT_EQ(capped["bootstrap_samples"], json({10000, 10000})) << capped.dump();
  EXPECT_EQ(capped["verdict"], "slower");
  EXPECT_NEAR(capped["ratio"].get<double>(), 1.3, 0.03);
  EXPECT_EQ(c["rows"][1]["bootstrap_samples"], json({10000, 60})) << c["rows"][1].dump();
  EXPECT_EQ(c["capped_rows"], 2);
  EXPECT_EQ(c["max_bootstrap_samples"], 10000);
  const json uncapped = compare_reports(std::vector<CompareSide>{small, small}, layer_only());
  EXPECT_EQ(uncapped["capped_rows"], 0);
  EXPECT_FALSE(uncapped["rows"][0].contains("bootstrap_samples"));
  for (const char* format : {"table", "markdown"}) {
    std::ostringstream out;
    print_comparison(out, c, format);
    EXPECT_NE(out.str().find("capped (2 row(s)): more than 10000 samples on a side; the interval "
                             "resamples 10000 of them, evenly spaced"),
              std::string::npos)
        << out.str();
    EXPECT_NE(out.str().find("slower (capped)"), std::string::npos) << out.str();
    std::ostringstream plain;
    print_comparison(plain, uncapped, format);
    EXPECT_EQ(plain.str().find("capped"), std::string::npos) << plain.str();
  }
}

}  // namespace
}  // namespace c2r
