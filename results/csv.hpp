#pragma once
// CSV sinks over reports and comparisons (`report --csv FILE`, `compare --format csv`): one row
// per (cell, phase), every independent variable of the run a column, so that a spreadsheet or
// pandas gets the grid without reading JSON. RFC 4180: comma-separated, a field quoted when it
// holds a comma, a quote or a line break (quotes doubled), "\n" line ends, one header row. Numbers
// are written as the report's JSON writes them (shortest text that reads back to the same double),
// so a value read from the CSV equals the report's; an absent value is an empty field.
// tools/c2rbench_results.py builds the same rows from the JSON report (docs/REPORT.md lists the
// columns).

#include <ostream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "results/report.hpp"

namespace c2r {

// The report CSV's columns, in order.
const std::vector<std::string>& report_csv_columns();

// The header and one row per (cell, reported phase) of every report; `sources[i]` names
// reports[i] in the "report" column.
void write_report_csv(std::ostream& out, const std::vector<Report>& reports,
                      const std::vector<std::string>& sources);

// One row per row of a comparison (compare_reports): the header, then report, cell, phase,
// reference and compared medians, runs, samples, ratio, interval, verdict and reason.
void write_comparison_csv(std::ostream& out, const nlohmann::json& comparison);

// One CSV field: quoted when it holds a comma, a quote, a carriage return or a line feed.
std::string csv_field(const std::string& text);

}  // namespace c2r
