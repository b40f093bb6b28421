#pragma once
// `c2rbench run`: its options as typed on the command line, and the validated grid they describe.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "collectives/strategy.hpp"
#include "kernels/cpu/gating.hpp"
#include "model/model_config.hpp"
#include "model/workload.hpp"
#include "suites/harness.hpp"

namespace c2r {

// The model and workload flags `run` and `tune` share, as typed (CLI11 fills them; see
// suites/cli.cpp for the flag texts). One resolver turns them into a WorkloadSetup.
struct WorkloadOptions {
  std::string preset = "llama-moe-3.5b";
  ModelOverrides overrides;
  int64_t tokens = 1024;       // tokens per rank
  std::string kind = "trace";  // --workload
  int groups = 0;
  double cluster_strength = 3.0;
  int hot_experts = 1;
  uint64_t seed = 1;
  std::string data_dir;  // empty: the built-in reference data
};

// What a command's process does besides the measurement: where it writes, what it prints, which
// backend and how many BLAS threads it uses. Echoed into reports, never part of the grid.
struct ProcessOptions {
  std::string out;  // empty: the command's default path
  std::string backend = "cpu";
  int blas_threads = 1;
  bool quiet = false;
};

// `c2rbench run`'s raw command-line values.
struct RunOptions {
  WorkloadOptions workload;
  ProcessOptions process;
  std::string rank_tokens;  // "64,0,128,...": each rank's own token count (uneven load)
  std::string layer = "0";
  std::vector<std::string> routing = {"vanilla", "c2r"};
  std::vector<int> top_t;                                // empty: the preset's default
  std::vector<std::string> strategy = strategy_names();  // every registered strategy
  std::vector<std::string> placement = {"contiguous", "collab"};
  double capacity_factor = 1.25;
  int warmup = 2;
  int iters = 10;
  bool check = false;
  double tolerance = 1e-4;
  std::string sweep;         // "tokens=512,1024,...": the grid once per tokens-per-rank value
  std::string max_memory;    // per-rank limit ("2GiB"); empty: this node's memory / its ranks
  std::string inject_fault;  // "KIND:RANK[:PHASE[:N]]" (suites/fault_injection.hpp)
};

// The model, workload and data the workload flags describe, validated.
struct WorkloadSetup {
  ModelConfig model;
  WorkloadSpec workload;
  std::string data_dir;  // the reference data's directory
};

// One result of the grid.
struct Cell {
  int layer = 0;
  RoutingMode routing = RoutingMode::kVanilla;
  int top_t = 0;  // 0 for vanilla
  const StrategyDescriptor* strategy = &baseline_strategy();
  std::string placement;
  bool baseline = false;  // (vanilla, dropless, contiguous) of its layer
  bool in_grid = true;    // false for a baseline added because the grid lacked it
};

// The grid of a run as values: every combination of these is a cell.
struct GridSpec {
  std::vector<int> layers;
  std::vector<RoutingMode> routings;
  std::vector<int> top_ts;  // C2R routings only
  std::vector<const StrategyDescriptor*> strategies;
  std::vector<std::string> placements;
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
  LoopCounts loops;
  bool check = false;
  double tolerance = 1e-4;
  bool ceilings = true;  // time the same-run ceilings (`tune --validate` skips them)

  bool uneven() const;
  // Rank r owns global tokens [first_token(r), first_token(r) + rank_tokens[r]).
  int64_t first_token(int rank) const;
  int64_t total_tokens() const;

  // The report's "config", with the process settings it ran under.
  nlohmann::json to_json(const ProcessOptions& process) const;
};

// Validates the model and workload flags; throws c2r::Error naming the bad flag.
WorkloadSetup resolve_workload(const WorkloadOptions& options);
// Validates the process flags (backend, BLAS threads); throws c2r::Error naming the bad flag.
ProcessOptions resolve_process(const ProcessOptions& options);

// The run of `grid` on `setup` with `rank_tokens` per rank: every cell once, cells sharing routing
// and placement together, the (vanilla, dropless, contiguous) baseline of each layer flagged, or
// added when the grid lacks it. Loop counts, check and capacity factor are left at their defaults
// for the caller to set.
RunConfig make_run_config(const WorkloadSetup& setup, const GridSpec& grid,
                          std::vector<int64_t> rank_tokens);

// Validates every `run` option and expands the grid; throws c2r::Error naming the bad option.
// Files (trace data, placement files) are checked later, when they are read.
RunConfig resolve_run_config(const RunOptions& options, int ranks);

std::string to_string(RoutingMode mode);
RoutingMode parse_routing(const std::string& name);
bool is_builtin_placement(const std::string& name);
// --sweep "tokens=V1,V2,...": the distinct positive tokens-per-rank values, in order; throws
// c2r::Error naming the problem.
std::vector<int64_t> parse_token_sweep(const std::string& text);

// --rank-tokens "T0,T1,...": one non-negative count per rank, at least one token in all; throws
// c2r::Error naming the problem.
std::vector<int64_t> parse_rank_tokens(const std::string& text, int ranks);

// --layer: a number, a comma list, or "all" (trace workloads); throws c2r::Error when malformed.
std::vector<int> parse_layers(const std::string& text, const ModelConfig& model,
                              WorkloadKind workload);

}  // namespace c2r
