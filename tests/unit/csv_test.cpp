// CSV sinks: RFC 4180 quoting, and one row per (cell, phase) with the report's own numbers.
#include <gtest/gtest.h>

#include <sstream>

#include "results/csv.hpp"

namespace c2r {
namespace {

TEST(Csv, QuotesOnlyWhatNeedsIt) {
  EXPECT_EQ(csv_field("dedup"), "dedup");
  EXPECT_EQ(csv_field("a,b"), "\"a,b\"");
  EXPECT_EQ(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
  EXPECT_EQ(csv_field("two\nlines"), "\"two\nlines\"");
  EXPECT_EQ(csv_field(""), "");
}

TEST(Csv, OneRowPerCellAndPhaseWithTheReportsNumbers) {
  Report report;
  report.config = {{"model", {{"preset", "llama-moe-3.5b"}, {"experts", 8}}},
                   {"ranks", 2},
                   {"tokens_per_rank", 64}};
  CellResult cell;
  cell.routing = "vanilla";
  cell.strategy = "dropless";
  cell.placement = "dir,with comma/p.json";
  cell.phases[static_cast<int>(Phase::kLayer)] = phase_stats({1.0, 0.1 + 0.2, 3.0});
  cell.phases[static_cast<int>(Phase::kExpert)] = phase_stats({2.0});
  cell.efficiency = Efficiency{0.5, 0.25, 0.125};
  report.results = {cell};
  std::ostringstream out;
  write_report_csv(out, {report}, {"r.json"});
  std::istringstream lines(out.str());
  std::string header, expert, layer, extra;
  std::getline(lines, header);
  std::getline(lines, expert);
  std::getline(lines, layer);
  EXPECT_FALSE(std::getline(lines, extra));  // phases without samples have no row
  EXPECT_EQ(header.substr(0, 14), "report,preset,");
  EXPECT_NE(expert.find(",expert,2.0,"), std::string::npos) << expert;
  EXPECT_NE(expert.find(",0.5,"), std::string::npos) << expert;  // the expert's efficiency
  EXPECT_NE(layer.find("\"dir,with comma/p.json\""), std::string::npos) << layer;
  // The median of {1, 0.30000000000000004, 3} keeps every digit JSON would.
  EXPECT_NE(layer.find(",layer,1.0,"), std::string::npos) << layer;
  EXPECT_NE(layer.find("1.4333333333333333"), std::string::npos) << layer;  // the mean
}

}  // namespace
}  // namespace c2r
