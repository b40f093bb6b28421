#pragma once
// The versioned JSON report: {"schema", "schema_version", "context", "config", "results", ...}.
// See docs/REPORT.md. Readers ignore unknown fields and reject other schemas and newer versions.

#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "results/cell_result.hpp"

namespace c2r {

constexpr const char* kReportSchema = "c2rbench.report";
constexpr int kReportSchemaVersion = 1;

// One row of the layer summary: a grid cell's mean ratios to its layer's baseline over layers.
struct LayerSummary {
  std::string routing;
  std::optional<int> top_t;
  std::string strategy, placement;
  std::string dtype = "fp32";
  int overlap = 1;
  int layers = 0;
  double remote_bytes_ratio = 0, dispatch_combine_time_ratio = 0, layer_time_ratio = 0;
  double rank_imbalance = 0;  // mean of the cells' own (not a ratio)
};

// A run's partial results (FILE.partial, written as cells finish): how many of its cells the
// results hold.
struct IncompleteRun {
  int finished_cells = 0, planned_cells = 0;
};

// A report as the program holds it. Context and configuration stay JSON: they are echoed, not
// computed on.
struct Report {
  nlohmann::json context = nlohmann::json::object();
  nlohmann::json config = nlohmann::json::object();
  std::vector<CellResult> results;
  std::optional<std::vector<LayerSummary>> summary;  // runs over several layers
  std::optional<IncompleteRun> incomplete;           // partial results of a run that went on
};

// "FILE holds partial results: N of M cells (the run did not finish)", for readers to warn with;
// empty for a complete report.
std::string incomplete_warning(const Report& report, const std::string& source);

nlohmann::json make_report(nlohmann::json context, nlohmann::json config, nlohmann::json results);
nlohmann::json to_json(const LayerSummary& row);
nlohmann::json to_json(const Report& report);
// A report that parse_report accepted; `source` names it in errors. Throws c2r::Error when two
// results are one cell (the same cell_key).
Report report_from_json(const nlohmann::json& doc, const std::string& source);

// Atomic write (temp file + rename); refuses to overwrite an existing file.
void write_report(const std::string& path, const nlohmann::json& report);

// Parses and validates a report; throws c2r::Error naming `source` and the problem: a field of
// another type, a value that cannot be (a negative time, count or rank; a fraction above 1), counts
// that contradict each other (a phase's "n" and its samples, a matrix and the ranks), or no
// results.
nlohmann::json parse_report(const std::string& text, const std::string& source);
nlohmann::json read_report(const std::string& path);
// read_report, then report_from_json.
Report load_report(const std::string& path);

}  // namespace c2r
