#pragma once
// `c2rbench run`: validates the options on every rank, runs the grid, prints the table and writes
// the report.

#include <functional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "bench/cell_run.hpp"
#include "cli/options.hpp"
#include "common/communicator.hpp"
#include "results/report.hpp"

namespace c2r {

class LayerSuite;

// Collective: sets a backend other than the CPU up for a run, returning what makes its cells (the
// CUDA backend lives outside the core library, so the command receives it from main), and
// describing in `devices` every rank's device for the report's context. Throws c2r::Error when
// the backend cannot run here.
using BackendFactory = std::function<CellStarter(const RunConfig&, const Communicator&, LayerSuite&,
                                                 nlohmann::json& devices)>;

// Returns the process exit status: 0, or 1 when a checked cell has wrong rows.
// Throws c2r::Error (raised_on_all_ranks() for bad input) on failure. `cuda_backend` is empty
// when this c2rbench was built without it.
int run_command(const RunOptions& options, const std::vector<std::string>& argv,
                const Communicator& comm, const BackendFactory& cuda_backend = {});

// Mean per-layer ratios of every grid cell to its layer's baseline, one row per cell in first-seen
// order.
std::vector<LayerSummary> summarize_layers(const std::vector<CellResult>& results);

}  // namespace c2r
