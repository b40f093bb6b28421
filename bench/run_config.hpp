#pragma once
// What one `run` measures, as values: the model and workload, the grid of cells, the loop counts
// and checks (RunConfig), and the process settings it ran under. The command line fills them
// (cli/options.hpp); `tune --validate` builds them directly with make_run_config.

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "bench/cell_schedule.hpp"
#include "bench/harness.hpp"
#include "collectives/strategy.hpp"
#include "kernels/cpu/gating.hpp"
#include "model/model_config.hpp"
#include "model/workload.hpp"

namespace c2r {

// What a command's process does besides the measurement: where it writes, what it prints, which
// backend and how many BLAS threads it uses. Echoed into reports, never part of the grid.
struct ProcessOptions {
  std::string out;  // empty: the command's default path
  std::string backend = "cpu";
  // How rows travel between ranks: "auto" (the backend's own: MPI on the CPU, NCCL on the GPU),
  // "nccl" or "mpi" (the cuda backend staging device rows through host memory).
  std::string exchange = "auto";
  int blas_threads = 1;
  bool quiet = false;
  // Every option of the command as it ran, by name (cli/config_files.hpp), recorded so that
  // `--config-from` repeats the run; empty where no command line made this.
  nlohmann::json options = nlohmann::json::object();
};

// The model, workload and data the workload flags describe, validated.
struct WorkloadSetup {
  ModelConfig model;
  WorkloadSpec workload;
  std::string data_dir;  // the reference data's directory
  // A user trace's layers, ascending (`--layer all`); empty without one (workload.trace_file).
  std::vector<int> trace_layers;
};

// How a pipelined layer (Cell::overlap > 1) makes its exchanges in flight progress while experts
// compute (bench/cpu_layer.hpp).
enum class OverlapProgress {
  kTest,  // MPI_Test every exchange in flight after each expert GEMM
  kWait,  // no MPI call during compute: an exchange progresses when the layer waits for it
};
std::string to_string(OverlapProgress progress);
// Throws c2r::Error naming the known modes.
OverlapProgress parse_overlap_progress(const std::string& name);

// One result of the grid.
struct Cell {
  int layer = 0;
  RoutingMode routing = RoutingMode::kVanilla;
  int top_t = 0;  // 0 for vanilla
  const StrategyDescriptor* strategy = &baseline_strategy();
  std::string placement;
  bool baseline = false;  // (vanilla, dropless, contiguous) of its layer and payload type
  bool in_grid = true;    // false for a baseline added because the grid lacked it
  PayloadType dtype = PayloadType::kFp32;  // of the exchanged rows (kernels/cpu/row_codec.hpp)
  // Token chunks the layer is pipelined over (bench/cpu_layer.hpp): 1 = the serial layer.
  int overlap = 1;
};

// The grid of a run as values: every combination of these is a cell.
struct GridSpec {
  std::vector<int> layers;
  std::vector<RoutingMode> routings;
  std::vector<int> top_ts;  // C2R routings only
  std::vector<const StrategyDescriptor*> strategies;
  std::vector<std::string> placements;
  std::vector<PayloadType> dtypes = {PayloadType::kFp32};
  std::vector<int> overlaps = {1};  // pipeline degrees (Cell::overlap)
};

struct RunConfig {
  ModelConfig model;
  WorkloadSpec workload;
  // Tokens of rank r: rank_tokens[r]. Uniform unless --rank-tokens was given; tokens_per_rank is
  // then the largest count (it sizes buffers and the padded capacity, which must agree on ranks).
  int64_t tokens_per_rank = 0;
  std::vector<int64_t> rank_tokens;  // [ranks]
  int ranks = 0;
  std::vector<int> layers;
  std::vector<Cell> cells;  // grouped by (layer, routing, top_t, placement)
  double capacity_factor = 1.25;
  int replicas = 0;  // redundant experts of the eplb placement (tuner/eplb.hpp)
  LoopCounts loops;
  CellOrder order = CellOrder::kInterleaved;  // of the cells' iterations (bench/cell_schedule.hpp)
  bool check = false;
  double tolerance = 1e-4;
  bool ceilings = true;  // time the same-run ceilings (`tune --validate` skips them)
  OverlapProgress overlap_progress = OverlapProgress::kTest;

  bool uneven() const;
  // Rank r owns global tokens [first_token(r), first_token(r) + rank_tokens[r]).
  int64_t first_token(int rank) const;
  int64_t total_tokens() const;

  // How the schedule runs the cells: the order, the loop counts, and the workload's seed for the
  // rounds' shuffles.
  ScheduleOptions schedule() const { return {order, loops, workload.seed}; }

  // The report's "config", with the process settings it ran under.
  nlohmann::json to_json(const ProcessOptions& process) const;
};

// The run of `grid` on `setup` with `rank_tokens` per rank: every cell once, cells sharing routing
// and placement together, the (vanilla, dropless, contiguous) baseline of each layer flagged, or
// added when the grid lacks it. Loop counts, check and capacity factor are left at their defaults
// for the caller to set.
RunConfig make_run_config(const WorkloadSetup& setup, const GridSpec& grid,
                          std::vector<int64_t> rank_tokens);

}  // namespace c2r
