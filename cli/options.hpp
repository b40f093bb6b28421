#pragma once
// The options of `c2rbench run` and `tune` as typed on the command line (CLI11 fills them; see
// cli/cli.cpp for the flag texts), and the one path from them to a validated configuration. Only
// this layer names flags in its errors.

#include <cstdint>
#include <string>
#include <vector>

#include "bench/fault_injection.hpp"
#include "bench/layer_suite.hpp"
#include "bench/memory_estimate.hpp"
#include "bench/run_config.hpp"
#include "collectives/strategy.hpp"
#include "common/communicator.hpp"
#include "common/file_io.hpp"
#include "model/data_store.hpp"
#include "model/model_config.hpp"
#include "model/routing_trace.hpp"
#include "model/workload.hpp"

namespace c2r {

// The model and workload flags `run` and `tune` share, as typed (CLI11 fills them; see
// cli/cli.cpp for the flag texts). One resolver turns them into a WorkloadSetup.
struct WorkloadOptions {
  std::string preset = "llama-moe-3.5b";
  ModelOverrides overrides;
  int64_t tokens = 1024;       // tokens per rank
  std::string kind = "trace";  // --workload
  int groups = 0;
  double cluster_strength = 3.0;
  int hot_experts = 1;
  uint64_t seed = 1;
  std::string data_dir;       // empty: the built-in reference data
  std::string trace;          // --trace: a user's routing trace (c2rbench.trace); empty: none
  bool preset_given = false;  // --preset was given (a trace's model takes it, else --hidden/--ffn)
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
  std::vector<std::string> dtype = {"fp32"};  // payload types of the exchanged rows
  std::vector<int> overlap = {1};             // pipeline degrees: token chunks per layer
  std::string overlap_progress = "test";      // how exchanges in flight progress: test | wait
  double capacity_factor = 1.25;
  int replicas = -1;  // redundant experts of --placement eplb; -1: one per rank
  int warmup = 2;
  int iters = 10;
  double min_time = 0.0;  // seconds of layer time every cell accumulates at least; 0: off
  int max_iters = kDefaultMaxIterations;  // cap on timed iterations under min_time
  std::string order = "interleaved";      // of the cells' iterations: interleaved | sequential
  bool check = false;
  double tolerance = 1e-4;
  std::string sweep;         // "tokens=512,1024,...": the grid once per tokens-per-rank value
  std::string max_memory;    // per-rank limit ("2GiB"); empty: this node's memory / its ranks
  std::string inject_fault;  // "KIND:RANK[:PHASE[:N]]" (bench/fault_injection.hpp)
};

// Validates the model and workload flags; throws c2r::Error naming the bad flag. With --trace,
// `trace` is the trace it names (read_user_trace): the model takes its experts, top-k and layers.
WorkloadSetup resolve_workload(const WorkloadOptions& options, const RoutingTrace* trace = nullptr);
// The directory --data-dir names, or the built-in reference data.
std::string data_directory(const WorkloadOptions& options);
// Collective: the trace --trace names, read once through `data` (its .npy files too), or nullptr
// without --trace. Throws c2r::Error raised on every rank, naming the flag and the file.
const RoutingTrace* read_user_trace(const WorkloadOptions& options, DataStore& data);
// Validates the process flags (backend, BLAS threads); throws c2r::Error naming the bad flag.
ProcessOptions resolve_process(const ProcessOptions& options);

// Validates every `run` option and expands the grid; throws c2r::Error naming the bad option.
// Files (trace data, placement files) are checked later, when they are read; a user trace
// (--trace) is read before, and given as `trace`.
RunConfig resolve_run_config(const RunOptions& options, int ranks,
                             const RoutingTrace* trace = nullptr);

// --sweep "tokens=V1,V2,..." or "tokens=START:STOP:xFACTOR" (START, START*FACTOR, ... up to
// STOP; a whole FACTOR of 2 or more): the distinct positive tokens-per-rank values, in order;
// throws c2r::Error naming the problem.
std::vector<int64_t> parse_token_sweep(const std::string& text);

// --rank-tokens "T0,T1,...": one non-negative count per rank, at least one token in all; throws
// c2r::Error naming the problem.
std::vector<int64_t> parse_rank_tokens(const std::string& text, int ranks);

// --layer: a number, a comma list, or "all" (trace workloads); throws c2r::Error when malformed.
std::vector<int> parse_layers(const std::string& text, const ModelConfig& model,
                              WorkloadKind workload);
// --layer of `setup`: parse_layers, or with a user trace its layers ("all": every layer it holds;
// a layer it lacks is refused, naming it).
std::vector<int> resolve_layers(const std::string& text, const WorkloadSetup& setup);

// --max-memory: "512MiB", "2GiB", "1.5G", "1000000" (bytes) -> bytes; throws c2r::Error naming
// the flag when it is not a size.
double parse_memory_size(const std::string& text);

// Collective: refuses (c2r::Error raised on every rank) an `estimate` above the per-rank limit,
// --max-memory `max_memory` or, when empty, this node's memory over its ranks (`run`,
// `tune`, `topo`). Returns the limit.
// The message lists the estimate's items and ends with `advice` (what to make smaller).
double check_memory_limit(const MemoryEstimate& estimate, const std::string& max_memory,
                          const std::string& advice, const Communicator& comm);

// Collective: where rank 0, which writes a command's output file, writes it, checked before
// anything runs: --out `out` must be a new file in a writable directory; empty, a fresh name
// results/<stem>-<timestamp>.json taken when written. Throws c2r::Error raised on every rank.
OutputFile choose_output_file(const std::string& out, const std::string& stem,
                              const Communicator& comm);

// --inject-fault "KIND:RANK[:PHASE[:N]]"; throws c2r::Error naming the problem (unknown kind or
// phase, rank outside 0..ranks-1).
FaultSpec parse_fault(const std::string& text, int ranks);

// Collective: checks that the data every cell of `config` needs exists and fits (trace files for
// each Top-T, their layers and experts, placement files), before anything is timed. Throws
// c2r::Error raised on all ranks.
void check_run_inputs(const RunConfig& config, const LayerSuite& suite, DataStore& data, int ranks);

}  // namespace c2r
