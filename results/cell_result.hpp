#pragma once
// One cell's result as the program holds it: built by bench/cell_result_builder.cpp, read by the
// run table, the layer summary, compare, the HTML page and the tuner's validation. JSON is only
// the file format: to_json when a report is written, cell_result_from_json when one is read. The
// fields are docs/REPORT.md's "results" entries, under the same names.

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "results/phase.hpp"
#include "results/stats.hpp"

namespace c2r {

// How the collab placement was found.
struct PlacementSearch {
  std::string method;     // "exhaustive" or "swap-local-search"
  double candidates = 0;  // placements evaluated
};

// Same-run ceilings: the same work as the phase, timed alone, per iteration (us).
struct Ceilings {
  PhaseStats expert_dense_gemm;   // the expert FLOPs as dense GEMMs
  PhaseStats dispatch_alltoallv;  // a plain MPI_Alltoallv of the dispatch rows
  PhaseStats combine_alltoallv;   // and of the combine rows
};

// Ceiling median / phase median.
struct Efficiency {
  double expert = 0, dispatch = 0, combine = 0;
};

// Bytes moved by the exchange; rank x rank matrices have row = source rank.
struct Traffic {
  int64_t dispatch_row_bytes = 0, combine_row_bytes = 0;
  std::vector<std::vector<int64_t>> dispatch_bytes, combine_bytes;  // [R x R]
  std::vector<int64_t> remote_bytes_per_rank;                       // [R] sent, self excluded
  int64_t remote_bytes_total = 0, remote_dispatch_bytes = 0, remote_combine_bytes = 0;
  double copies_per_token = 0, remote_copies_per_token = 0;  // expert rows sent per token
  double dispatch_algbw_gbps = 0, dispatch_busbw_gbps = 0;   // GB/s (1e9)
};

// How the routing's work falls on experts and ranks.
struct Load {
  std::vector<int64_t> tokens_per_expert;           // [E] (token, expert) pairs, all ranks
  std::vector<double> tokens_per_rank;              // [R] pairs whose expert the rank holds
  std::vector<int64_t> rows_computed_per_rank;      // [R] expert rows each rank computed
  double expert_imbalance = 0, rank_imbalance = 0;  // max / mean
  int64_t dropped_pairs = 0;
  double dropped_fraction = 0;        // of all (token, expert) pairs
  double internal_collaboration = 0;  // co-activation kept inside ranks / all co-activation
  std::vector<double> coactivation;   // [E x E] row-major
};

// The layer output against the serial reference (--check).
struct OutputCheck {
  bool checked = false;  // the fields below only when checked
  double worst_relative_error = 0;
  int64_t wrong_rows = 0, rows = 0;  // rows: compared, all ranks
  double tolerance = 0;
  // The unit roundoff of the combine rows' type (0 for fp32): a row may also differ by this times
  // the norm of the rows returned to it (bench/cell_result_builder.hpp).
  double combine_roundoff = 0;
  // A backend with a gate of its own (cuda): the tokens, all ranks, whose chosen experts differ
  // from the CPU gate's (near-ties broken the other way); the check then judged the output
  // against a reference of the backend's routing. Absent for the CPU backend.
  std::optional<int64_t> routing_mismatches;
};

// How much of the exchange a layer hid behind compute. Per iteration, exposed communication =
// layer time - compute time, both the maximum over ranks (compute: gate + permute + expert +
// unpermute, without the exchanges' progress calls), so it is what the layer took beyond its
// busiest rank's compute (docs/METRICS.md). Every cell has it; a serial cell exposes all of its
// exchange and its barriers' waits.
struct OverlapMetrics {
  PhaseStats exposed_communication;  // us, per iteration
  PhaseStats compute;                // us, per iteration
  // 1 - median exposed / (median dispatch + combine ceilings): the share of the same rows' plain
  // blocking exchange that the layer did not expose. With ceilings measured only.
  std::optional<double> efficiency;
};

// The speedup's percentile-bootstrap interval: from the per-iteration layer samples of the cell and
// its baseline, resampled by round (paired) when the cells ran interleaved, independently when
// they ran one after another.
struct SpeedupInterval {
  double low = 0, high = 0;
  double confidence = 0.95;
  bool paired = false;
};

// Absent sections and fields are std::optional: version-1 reports from other tools (the PyTorch
// peer) have no traffic, load, efficiency or check, and readers show them as absent.
struct CellResult {
  // The cell: what identifies it across reports (cell_key).
  std::string routing = "?";
  std::optional<int> top_t;  // C2R routing only
  std::string strategy = "?";
  std::string placement = "?";
  std::string dtype = "fp32";  // of the exchanged rows; reports without it sent fp32
  int overlap = 1;             // token chunks pipelined per layer; reports without it ran 1
  std::optional<int> layer;
  std::optional<int64_t> tokens_per_rank;  // a token sweep's pass
  std::optional<double> ranks;             // reports merged over rank counts
  bool baseline = false;
  bool in_grid = false;  // a cell of the requested grid (not only the added baseline)

  std::vector<int> expert_rank;  // [E] the rank holding each expert
  // Replicated placements instead of expert_rank: [R][slots per rank] the experts of each rank's
  // slots.
  std::vector<std::vector<int>> rank_experts;
  std::optional<PlacementSearch> placement_search;  // collab placement only
  std::optional<std::string> top_t_source;          // C2R routing only
  std::optional<double> trace_match;                // pair traces only

  std::array<std::optional<PhaseStats>, kNumResultPhases> phases;  // by Phase
  std::optional<Ceilings> ceilings;                                // with ceilings measured
  std::optional<Efficiency> efficiency;                            // with ceilings measured
  std::optional<OverlapMetrics> overlap_metrics;
  std::optional<double> expert_gflops;
  std::optional<Traffic> traffic;
  std::optional<Load> load;
  std::optional<OutputCheck> check;
  std::optional<double> speedup_vs_baseline;  // baseline layer time / this cell's
  std::optional<SpeedupInterval> speedup_interval;
  // Runs with the eplb placement: the (vanilla, dropless, eplb) cell's layer time / this cell's,
  // the replicated baseline serving stacks deploy (results/verdict.hpp).
  std::optional<double> speedup_vs_eplb;
  std::optional<SpeedupInterval> eplb_speedup_interval;
  std::vector<int> round_positions;  // interleaved runs: the cell's place in each timed round

  const std::optional<PhaseStats>& phase(Phase p) const { return phases[static_cast<int>(p)]; }
  // The phase's median (us), 0 when the cell has no such phase.
  double median_us(Phase p) const { return phase(p) ? phase(p)->stats.median : 0.0; }
};

// Which parts of a cell the key holds. All: a cell across reports (compare). Without sizes: a
// cell's series over token counts or rank counts (the HTML page). Without the layer either: a cell
// averaged over layers (the layer summary).
struct CellKeyParts {
  bool layer = true;
  bool sizes = true;  // ranks and tokens per rank, when the cell has them
};

// "layer 3 tokens 64 c2r T=4 dedup collab": the one key of a cell, for matching and for labels.
std::string cell_key(const CellResult& cell, CellKeyParts parts = {});

// The report's JSON of a cell, and back. cell_result_from_json reads a result that parse_report
// validated; `source` names it in errors.
nlohmann::json to_json(const CellResult& cell);
CellResult cell_result_from_json(const nlohmann::json& j, const std::string& source);

}  // namespace c2r
