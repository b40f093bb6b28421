#pragma once
// `c2rbench tune`: chooses, per layer, the expert -> rank placement, and for the model the C2R
// Top-T and the padded capacity factor, by the cost model's predicted layer time on a cluster that
// is either measured (this job's ranks) or described (`--cluster FILE`, simulation). Writes a
// tuning file that `c2rbench run --placement FILE` accepts; `--validate` runs real layers to test
// the predictions.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "bench/memory_estimate.hpp"
#include "bench/run_config.hpp"
#include "cli/options.hpp"
#include "common/communicator.hpp"
#include "model/model_config.hpp"

namespace c2r {

// Raw command-line values (see cli/cli.cpp for the flag texts).
struct TuneOptions {
  WorkloadOptions workload;  // tokens: tokens per rank of the deployment
  ProcessOptions process;
  std::string layer;               // empty: every layer of a trace, else layer 0
  std::string strategy = "dedup";  // exchange the placement is tuned for: dropless | dedup
  std::string routing = "c2r";     // vanilla | c2r
  std::string dtype = "fp32";      // payload type of the exchanged rows the cost model counts
  std::vector<int> top_t;          // C2R candidates (empty: every T with data, or a ladder)
  double max_imbalance = 1.5;      // Top-T: largest predicted rank imbalance of any layer
  std::vector<double> capacity_factors = {1.0, 1.1, 1.25, 1.5, 2.0, 3.0};
  double max_drop = 0.01;           // capacity factor: largest dropped fraction of any layer
  std::vector<int> overlap = {1};   // pipeline degrees to weigh (and validate)
  std::vector<int> replicas = {0};  // redundant expert counts to weigh (tuner/eplb.hpp)
  std::string cluster;              // a described cluster (simulation) or a `topo` profile
  int64_t sample_tokens = 16384;    // simulation: tokens routed to estimate the statistics
  double search_seconds = 60.0;     // per layer and routing, for the swap search
  bool validate = false;
  int warmup = 1;
  int iters = 3;                      // --validate: timed rounds over every placement
  std::string order = "interleaved";  // --validate: of the cells' iterations
  std::string max_memory;  // per-rank limit ("2GiB"); empty: this node's memory / its ranks
};

// What a rank of `tune` will allocate, known before it allocates anything.
struct TuneMemoryPlan {
  WorkloadSetup setup;                  // the model and workload tuned for
  int64_t tokens_per_rank = 1;          // this job's tokens per rank (calibration, validation)
  int ranks = 1;                        // this job's ranks
  bool measure_cluster = false;         // probes this job's ranks (no --cluster)
  bool calibrate = false;               // calibrates rates on this job's ranks (not simulated)
  int64_t sample_per_rank = 1;          // tokens each rank routes for the routing statistics
  int layers = 1;                       // layers tuned
  int routings = 1;                     // vanilla and each C2R Top-T candidate
  std::optional<RunConfig> validation;  // --validate's run
};

// Per-rank estimate of tune's peak: the routing samples of every (layer, routing), kept from the
// routing to the end, plus the largest of the steps that run one after another (measuring the
// cluster, calibrating the rates, routing the sampled tokens, the placement search, the
// validation runs). Its two items are those; +infinity where a size does not fit in 64 bits.
MemoryEstimate estimate_tune_memory(const TuneMemoryPlan& plan);

// Returns the process exit status. Throws c2r::Error (raised_on_all_ranks() for bad input).
int tune_command(const TuneOptions& options, const std::vector<std::string>& argv,
                 const Communicator& comm);

}  // namespace c2r
