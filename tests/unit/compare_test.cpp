// `c2rbench compare`: verdicts, regressions beyond a threshold, cell alignment and context
// warnings (the bootstrap intervals themselves: bootstrap_test.cpp).

#include <gtest/gtest.h>

#include <sstream>

#include "common/error.hpp"
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
  EXPECT_TRUE(c["warnings"].empty());
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
  ASSERT_EQ(c["warnings"].size(), 1u);
  EXPECT_NE(c["warnings"][0].get<std::string>().find("hosts differ"), std::string::npos);
  EXPECT_THROW(compare_reports({typed(other)}, {"b"}, CompareOptions{}), Error);
}

}  // namespace
}  // namespace c2r
