// Statistics, reports, atomic files and the run grid.
#include <gtest/gtest.h>

#include <unistd.h>

#include <filesystem>
#include <functional>

#include "common/error.hpp"
#include "common/file_io.hpp"
#include "common/rng.hpp"
#include "results/report.hpp"
#include "results/stats.hpp"

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

TEST(Stats, PercentilesOfUnevenSamples) {
  // numpy.percentile([10, 20, 40, 80, 160, 320, 640], q): position q/100 * 6, linear in between.
  const Stats s = summarize({320, 10, 640, 40, 160, 20, 80});
  EXPECT_EQ(s.n, 7);
  EXPECT_DOUBLE_EQ(s.min, 10);
  EXPECT_DOUBLE_EQ(s.max, 640);
  EXPECT_NEAR(s.mean, 1270.0 / 7, 1e-12);
  EXPECT_DOUBLE_EQ(s.median, 80);
  EXPECT_NEAR(s.p10, 16, 1e-12);    // 10 + 0.6 * (20 - 10)
  EXPECT_NEAR(s.p90, 448, 1e-12);   // 320 + 0.4 * (640 - 320)
  EXPECT_NEAR(s.p99, 620.8, 1e-9);  // 320 + 0.94 * (640 - 320)

  const Stats ties = summarize({3, 1, 4, 1, 5, 9, 2, 6, 5, 3, 5});  // sorted 1 1 2 3 3 4 5 5 5 6 9
  EXPECT_DOUBLE_EQ(ties.median, 4);
  EXPECT_DOUBLE_EQ(ties.p10, 1);
  EXPECT_DOUBLE_EQ(ties.p90, 6);
  EXPECT_NEAR(ties.p99, 8.7, 1e-12);
  EXPECT_DOUBLE_EQ(ties.mean, 4);

  const Stats two = summarize({3, 1});
  EXPECT_DOUBLE_EQ(two.median, 2);
  EXPECT_NEAR(two.p10, 1.2, 1e-12);
  EXPECT_NEAR(two.p90, 2.8, 1e-12);
  EXPECT_NEAR(two.p99, 2.98, 1e-12);
}

TEST(Stats, DegenerateSampleCounts) {
  const Stats one = summarize({7.5});
  EXPECT_EQ(one.n, 1);
  for (double v : {one.median, one.mean, one.min, one.max, one.p10, one.p90, one.p99}) {
    EXPECT_DOUBLE_EQ(v, 7.5);
  }
  const Stats none = summarize({});
  EXPECT_EQ(none.n, 0);
  EXPECT_DOUBLE_EQ(none.median, 0);
  EXPECT_DOUBLE_EQ(percentile({}, 0.5), 0);
  EXPECT_DOUBLE_EQ(percentile({1, 2, 3, 4}, 0.0), 1);
  EXPECT_DOUBLE_EQ(percentile({1, 2, 3, 4}, 1.0), 4);
  EXPECT_DOUBLE_EQ(percentile({1, 2, 3, 4}, 0.5), 2.5);
}

TEST(Stats, JsonKeepsEverySummaryAndTheSamples) {
  const std::vector<double> samples = {4, 8, 15, 16, 23, 42};
  const nlohmann::json j = stats_json(samples);
  EXPECT_EQ(j["samples_us"].get<std::vector<double>>(), samples);
  EXPECT_EQ(j["n"], 6);
  const Stats back = stats_from_json(j), direct = summarize(samples);
  EXPECT_DOUBLE_EQ(back.median, 15.5);
  EXPECT_DOUBLE_EQ(back.mean, direct.mean);
  EXPECT_DOUBLE_EQ(back.min, 4);
  EXPECT_DOUBLE_EQ(back.max, 42);
  EXPECT_DOUBLE_EQ(back.p10, direct.p10);
  EXPECT_DOUBLE_EQ(back.p90, direct.p90);
  EXPECT_DOUBLE_EQ(back.p99, direct.p99);
  EXPECT_EQ(back.n, 6);
}

nlohmann::json sample_report() {
  nlohmann::json results = nlohmann::json::array();
  results.push_back({{"routing", "c2r"},
                     {"top_t", 2},
                     {"phases", {{"layer", stats_json({30.5, 10.25, 20})}}},
                     {"traffic", {{"bytes", {1, 2, 3}}}}});
  results.push_back({{"routing", "vanilla"}, {"phases", nlohmann::json::object()}});
  return make_report({{"hosts", {"a", "b"}}, {"mpi", "Open MPI 4.1"}},
                     {{"tokens_per_rank", 64}, {"strategy", {"dedup", "dropless"}}}, results);
}

TEST(Report, RoundTripKeepsEveryField) {
  const nlohmann::json report = sample_report();
  EXPECT_EQ(report["schema"], "c2rbench.report");
  EXPECT_EQ(report["schema_version"], 1);
  for (int indent : {-1, 1, 4}) {
    const nlohmann::json back = parse_report(report.dump(indent), "r.json");
    EXPECT_EQ(back, report) << indent;
  }
  const nlohmann::json back = parse_report(report.dump(), "r.json");
  EXPECT_EQ(back["context"]["hosts"][1], "b");
  EXPECT_EQ(back["results"][0]["top_t"], 2);
  EXPECT_DOUBLE_EQ(stats_from_json(back["results"][0]["phases"]["layer"]).median, 20);
}

TEST(Report, UnknownFieldsAnywhereAreAccepted) {
  nlohmann::json report = sample_report();
  report["produced_by_a_later_minor_version"] = {{"x", 1}};
  report["context"]["gpu_clock_mhz"] = 1980;
  report["results"][1]["new_metric"] = "yes";
  const nlohmann::json back = parse_report(report.dump(), "future.json");
  EXPECT_EQ(back["produced_by_a_later_minor_version"]["x"], 1);
  EXPECT_EQ(back["results"][1]["new_metric"], "yes");
}

void expect_report_error(const std::string& text, const std::string& source,
                         const std::string& needle) {
  try {
    parse_report(text, source);
    ADD_FAILURE() << "accepted; expected: " << needle;
  } catch (const Error& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find(source), std::string::npos) << what;
    EXPECT_NE(what.find(needle), std::string::npos) << what;
  }
}

TEST(Report, RejectionsNameTheSourceAndTheProblem) {
  const nlohmann::json good = sample_report();
  const std::string text = good.dump(1);
  expect_report_error(text.substr(0, text.size() / 2), "half.json", "malformed JSON");
  expect_report_error("{\"schema\": c2rbench}", "bad.json", "malformed JSON");
  expect_report_error("", "empty.json", "malformed JSON");
  expect_report_error("[1, 2]", "array.json", "schema");
  auto edited = [&](const std::function<void(nlohmann::json&)>& edit) {
    nlohmann::json doc = good;
    edit(doc);
    return doc.dump();
  };
  expect_report_error(edited([](auto& d) { d["schema"] = "nccl-tests"; }), "o.json", "nccl-tests");
  expect_report_error(edited([](auto& d) { d.erase("schema"); }), "s.json", "schema");
  expect_report_error(edited([](auto& d) { d["schema_version"] = 2; }), "n.json",
                      "schema_version 2");
  expect_report_error(edited([](auto& d) { d["schema_version"] = 0; }), "z.json", "schema_version");
  expect_report_error(edited([](auto& d) { d["schema_version"] = "1"; }), "q.json",
                      "schema_version");
  expect_report_error(edited([](auto& d) { d.erase("results"); }), "m.json", "results");
  expect_report_error(edited([](auto& d) { d["results"] = {{"phases", 1}}; }), "a.json", "results");
  expect_report_error(edited([](auto& d) { d["results"][0].erase("phases"); }), "p.json", "phases");
  expect_report_error(edited([](auto& d) { d.erase("config"); }), "c.json", "config");
  expect_report_error(edited([](auto& d) { d["context"] = "host"; }), "x.json", "context");
}

// A run as `c2rbench run --check` writes it: 2 ranks, 8 experts, 10 interleaved iterations, the
// baseline and one C2R cell, every phase and ceiling with seeded samples around its own centre.
nlohmann::json seeded_run(uint64_t seed) {
  Rng rng(seed, Stream::kPlacement, 0);
  const int ranks = 2, experts = 8, iterations = 10;
  auto samples = [&](double centre) {
    std::vector<double> v;
    for (int i = 0; i < iterations; ++i) v.push_back(centre * (1.0 + 0.02 * rng.normal()));
    return v;
  };
  nlohmann::json results = nlohmann::json::array();
  for (int c = 0; c < 2; ++c) {
    CellResult cell;
    cell.routing = c == 0 ? "vanilla" : "c2r";
    if (c == 1) cell.top_t = 1;
    cell.strategy = c == 0 ? "dropless" : "dedup";
    cell.placement = c == 0 ? "contiguous" : "collab";
    cell.layer = 0;
    cell.baseline = c == 0;
    cell.in_grid = true;
    cell.expert_rank = c == 0 ? std::vector<int>{0, 0, 0, 0, 1, 1, 1, 1}
                              : std::vector<int>{0, 1, 1, 0, 0, 1, 0, 1};
    for (int p = 0; p < kNumResultPhases; ++p) {
      cell.phases[p] = phase_stats(samples(p == static_cast<int>(Phase::kLayer) ? 480.0 : 60.0));
    }
    cell.ceilings =
        Ceilings{phase_stats(samples(40)), phase_stats(samples(30)), phase_stats(samples(30))};
    Traffic t;
    t.dispatch_row_bytes = t.combine_row_bytes = 8192;
    t.dispatch_bytes = t.combine_bytes = {{1 << 20, 3 << 18}, {5 << 18, 1 << 20}};
    t.remote_bytes_per_rank = {3 << 18, 5 << 18};
    t.remote_bytes_total = 8 << 18;
    t.copies_per_token = 1.5;
    cell.traffic = t;
    Load l;
    l.tokens_per_expert = {20, 14, 18, 9, 22, 11, 16, 18};
    l.tokens_per_rank = {61.0, 67.0};
    l.rows_computed_per_rank = {61, 67};
    l.rank_imbalance = 1.05;
    l.dropped_fraction = 0.0;
    l.internal_collaboration = 0.4;
    l.coactivation.assign(experts * experts, 3.0);
    cell.load = l;
    cell.check = OutputCheck{true, 2.5e-7, 0, 128, 1e-4};
    for (int i = 0; i < iterations; ++i) cell.round_positions.push_back((i + c) % 2);
    results.push_back(to_json(cell));
  }
  return make_report({{"hosts", {"node1"}}, {"ranks", ranks}},
                     {{"model",
                       {{"preset", "llama-moe-3.5b"},
                        {"experts", experts},
                        {"top_k", 2},
                        {"hidden", 4096},
                        {"ffn", 1376},
                        {"shared_ffn", 0}}},
                      {"ranks", ranks},
                      {"tokens_per_rank", 64},
                      {"backend", "cpu"},
                      {"iterations", iterations}},
                     results);
}

TEST(ReportReader, ASeededRunIsAccepted) {
  const nlohmann::json doc = seeded_run(1);
  const Report report = report_from_json(parse_report(doc.dump(1), "run.json"), "run.json");
  ASSERT_EQ(report.results.size(), 2u);
  EXPECT_EQ(cell_key(report.results[1]), "layer 0 c2r T=1 dedup collab");
}

// Every value that cannot be is refused, naming the file and the field: negative times, counts,
// sizes, ranks and layers, fractions above 1, counts that contradict each other, no results.
TEST(ReportReader, ImpossibleValuesAreRefusedByFileAndField) {
  using Edit = std::function<void(nlohmann::json&)>;
  const std::vector<std::pair<Edit, std::string>> cases = {
      {[](auto& d) { d["results"][1]["phases"]["dispatch"]["samples_us"][3] = -12.5; },
       "results[1].phases.dispatch.samples_us must be an array of non-negative numbers"},
      {[](auto& d) { d["results"][0]["phases"]["layer"]["median_us"] = -480.0; },
       "results[0].phases.layer.median_us must be a non-negative number"},
      {[](auto& d) { d["results"][0]["ceilings"]["expert_dense_gemm"]["min_us"] = -0.5; },
       "results[0].ceilings.expert_dense_gemm.min_us must be a non-negative number"},
      {[](auto& d) { d["results"][0]["phases"]["gate"]["n"] = 11; },
       "results[0].phases.gate.n is 11 but samples_us holds 10 samples"},
      {[](auto& d) { d["results"][1]["round_positions"].erase(0); },
       "samples_us holds 10 samples for 9 round_positions"},
      {[](auto& d) { d["results"][1]["expert_rank"][2] = -1; },
       "results[1].expert_rank must be an array of non-negative integers"},
      {[](auto& d) { d["results"][1]["expert_rank"][2] = 2; },
       "results[1].expert_rank holds rank 2 of 2 ranks"},
      {[](auto& d) { d["results"][1]["expert_rank"].erase(7); },
       "results[1].expert_rank has 7 entries for the model's 8 experts"},
      {[](auto& d) { d["results"][0]["layer"] = -1; },
       "results[0].layer must be a non-negative integer"},
      {[](auto& d) { d["results"][1]["top_t"] = -1; },
       "results[1].top_t must be a non-negative integer or null"},
      {[](auto& d) { d["config"]["tokens_per_rank"] = -64; },
       "config.tokens_per_rank must be a non-negative integer"},
      {[](auto& d) { d["config"]["ranks"] = -2; }, "config.ranks must be a positive integer"},
      {[](auto& d) { d["results"][0]["ranks"] = 0; },
       "results[0].ranks must be a positive integer"},
      {[](auto& d) { d["config"]["model"]["experts"] = 0; },
       "config.model.experts must be a positive integer"},
      {[](auto& d) { d["results"][1]["traffic"]["remote_bytes_total"] = -5; },
       "results[1].traffic.remote_bytes_total must be a non-negative integer"},
      {[](auto& d) { d["results"][1]["traffic"]["dispatch_bytes"][0][1] = -3; },
       "results[1].traffic.dispatch_bytes must be a square matrix of non-negative integers"},
      {[](auto& d) {
         d["results"][1]["traffic"]["combine_bytes"] = {{1, 2, 3}, {4, 5, 6}, {7, 8, 9}};
       },
       "results[1].traffic.combine_bytes has 3 entries for 2 ranks"},
      {[](auto& d) { d["results"][0]["load"]["tokens_per_expert"].erase(0); },
       "results[0].load.tokens_per_expert has 7 entries for 8 experts"},
      {[](auto& d) { d["results"][0]["load"]["coactivation"].erase(0); },
       "results[0].load.coactivation has 63 entries for 64 experts squared"},
      {[](auto& d) { d["results"][0]["load"]["dropped_fraction"] = 1.5; },
       "results[0].load.dropped_fraction must be a number from 0 to 1"},
      {[](auto& d) { d["results"][0]["check"]["wrong_rows"] = 200; },
       "results[0].check.wrong_rows (200) exceeds check.rows (128)"},
      {[](auto& d) {
         d["results"][1]["efficiency"] = {{"expert", -0.2}};
       },
       "results[1].efficiency.expert must be a non-negative number"},
      {[](auto& d) {
         d["results"][1]["speedup_interval"] = {
             {"low", 0.9}, {"high", 1.2}, {"confidence", 95}, {"paired", true}};
       },
       "results[1].speedup_interval.confidence must be a number between 0 and 1"},
      {[](auto& d) {
         d["summary"] = {{{"layers", 1}, {"layer_time_ratio", -0.3}}};
       },
       "summary[0].layer_time_ratio must be a non-negative number"},
      {[](auto& d) { d["results"] = nlohmann::json::array(); }, "has no results"},
  };
  const nlohmann::json good = seeded_run(2);
  for (const auto& [edit, needle] : cases) {
    nlohmann::json doc = good;
    edit(doc);
    expect_report_error(doc.dump(), "impossible.json", needle);
  }
  // The JSON parser takes no NaN and no infinity, and refuses a number beyond a double rather
  // than reading it as infinity.
  std::string text = good.dump();
  const std::string median = "\"median_us\":";
  const size_t at = text.find(median) + median.size();
  expect_report_error(text.substr(0, at) + "1e999" + text.substr(text.find(',', at)), "huge.json",
                      "malformed JSON");
  expect_report_error(text.substr(0, at) + "NaN" + text.substr(text.find(',', at)), "nan.json",
                      "malformed JSON");
}

// compare, the baselines and the layer summary match cells by key: a second cell of a key would be
// left out of one and counted in another.
TEST(ReportReader, TwoResultsOfOneCellAreRefused) {
  nlohmann::json doc = seeded_run(3);
  doc["results"].push_back(seeded_run(4)["results"][1]);
  try {
    report_from_json(parse_report(doc.dump(), "twice.json"), "twice.json");
    FAIL() << "a report with one cell twice was accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("twice.json: results[2] is the same cell as results[1] "
                                         "(layer 0 c2r T=1 dedup collab)"),
              std::string::npos)
        << e.what();
  }
  // The same cell at another token count (a sweep) is another cell.
  doc["results"][2]["tokens_per_rank"] = 128;
  EXPECT_EQ(report_from_json(parse_report(doc.dump(), "sweep.json"), "sweep.json").results.size(),
            3u);
}

// A time of 0 is what a tool writes for a phase it does not time (the PyTorch peer's dispatch and
// combine on one GPU): read as it is.
TEST(ReportReader, ZeroTimesAreAccepted) {
  nlohmann::json doc = seeded_run(5);
  doc["results"][0]["phases"]["dispatch"] = stats_json(std::vector<double>(10, 0.0));
  const Report report = report_from_json(parse_report(doc.dump(), "peer.json"), "peer.json");
  EXPECT_EQ(report.results[0].median_us(Phase::kDispatch), 0.0);
}

// A fresh directory under /tmp, removed at the end of the test.

}  // namespace
}  // namespace c2r
