#pragma once
// `c2rbench tune`: chooses, per layer, the expert -> rank placement, and for the model the C2R
// Top-T and the padded capacity factor, by the cost model's predicted layer time on a cluster that
// is either measured (this job's ranks) or described (`--cluster FILE`, simulation). Writes a
// tuning file that `c2rbench run --placement FILE` accepts; `--validate` runs real layers to test
// the predictions.

#include <cstdint>
#include <string>
#include <vector>

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
  std::vector<int> top_t;          // C2R candidates (empty: every T with data, or a ladder)
  double max_imbalance = 1.5;      // Top-T: largest predicted rank imbalance of any layer
  std::vector<double> capacity_factors = {1.0, 1.1, 1.25, 1.5, 2.0, 3.0};
  double max_drop = 0.01;         // capacity factor: largest dropped fraction of any layer
  std::string cluster;            // a described cluster (simulation) or a `topo` profile
  int64_t sample_tokens = 16384;  // simulation: tokens routed to estimate the statistics
  double search_seconds = 60.0;   // per layer and routing, for the swap search
  bool validate = false;
  int warmup = 1;
  int iters = 3;                      // --validate: timed rounds over every placement
  std::string order = "interleaved";  // --validate: of the cells' iterations
};

// Returns the process exit status. Throws c2r::Error (raised_on_all_ranks() for bad input).
int tune_command(const TuneOptions& options, const std::vector<std::string>& argv,
                 const Communicator& comm);

}  // namespace c2r
