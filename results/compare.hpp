#pragma once
// `c2rbench compare`: sides of one or more repeated runs (reports), their cells aligned by
// configuration, per-phase ratios of pooled medians against the first side with a two-level
// bootstrap interval (runs, then iterations within a run: bootstrap.hpp), significant changes
// marked, context and configuration differences warned about.

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
  int resamples = 2000;     // 100 to kMaxResamples
  double threshold = -1.0;  // fractional slow-down that counts as a regression; < 0: none
  std::vector<std::string> phases = reported_phase_names();  // an unknown name is an error
  uint64_t seed = 1;
};

// One side of a comparison: repeated runs of one configuration, one report each.
struct CompareSide {
  std::vector<Report> runs;          // [runs], at least one
  std::vector<std::string> sources;  // [runs] the file each run was read from
};

// The side's name as printed and in the JSON: its sources joined by ','.
std::string side_name(const CompareSide& side);

// sides: the first is the reference. A cell is aligned across the runs of a side and across sides
// by cell_key; a run that lacks a cell leaves it to the side's other runs. Returns
// {"reference", "compared", "sides": [{"name", "reports"}], "confidence", "threshold",
// "warnings", "rows": [...], "regressions": N, "unmatched": [...], "max_bootstrap_samples",
// "capped_rows"} where a row is one (cell, phase, compared side) with "runs": [reference runs,
// side runs] and "samples" (both pooled over the runs that have the cell), both pooled medians,
// "ratio" (null when both medians are 0), "ci_low"/"ci_high" (null without an interval; "inf" for a
// bound the data leave open above) and "verdict": "faster", "slower", "same",
// "regression", or "n/a" with a "reason" (fewer than two samples on a side, or 0 us on both
// sides). A row whose interval resampled a side thinned to kMaxBootstrapSamples has
// "bootstrap_samples": [reference, side] (what the resamples drew from); "capped_rows" counts
// them. Throws c2r::Error for an unknown phase, resamples or a confidence out of range, and for a
// (cell, phase) whose median is 0 us on one side only: a phase one side did not time has no ratio.
nlohmann::json compare_reports(const std::vector<CompareSide>& sides,
                               const CompareOptions& options);

// Each report a side of its own, of one run; sources: their file names.
nlohmann::json compare_reports(const std::vector<Report>& reports,
                               const std::vector<std::string>& sources,
                               const CompareOptions& options);

// "table", "markdown" or "json".
void print_comparison(std::ostream& out, const nlohmann::json& comparison,
                      const std::string& format);

}  // namespace c2r
