// Statistics, reports, atomic files and the run grid.
#include <gtest/gtest.h>

#include <unistd.h>

#include <filesystem>
#include <functional>

#include "common/error.hpp"
#include "common/file_io.hpp"
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

// A fresh directory under /tmp, removed at the end of the test.

}  // namespace
}  // namespace c2r
