#pragma once
// `c2rbench compare`: cells of several reports aligned by configuration, per-phase ratios of
// medians against the first report with a bootstrap confidence interval from the stored samples,
// significant changes marked, context differences warned about.

#include <cstdint>
#include <ostream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "results/bootstrap.hpp"
#include "results/report.hpp"

namespace c2r {

struct CompareOptions {
  double confidence = 0.95;
  int resamples = 2000;
  double threshold = -1.0;  // fractional slow-down that counts as a regression; < 0: none
  std::vector<std::string> phases = reported_phase_names();  // unknown names match no phase
  uint64_t seed = 1;
};

// reports: read reports (the first is the reference); sources: their file names.
// Returns {"reference", "compared", "warnings", "rows": [...], "regressions": N, "unmatched":
// [...]} where a row is one (cell, phase, report) with medians, ratio, interval and "verdict"
// ("faster", "slower", "same" or "regression").
nlohmann::json compare_reports(const std::vector<Report>& reports,
                               const std::vector<std::string>& sources,
                               const CompareOptions& options);

// "table", "markdown" or "json".
void print_comparison(std::ostream& out, const nlohmann::json& comparison,
                      const std::string& format);

}  // namespace c2r
