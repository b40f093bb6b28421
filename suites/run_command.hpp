#pragma once
// `c2rbench run`: validates the options on every rank, runs the grid, prints the table and writes
// the report.

#include <string>
#include <vector>

#include "collectives/communicator.hpp"
#include "suites/run_config.hpp"

namespace c2r {

// Returns the process exit status: 0, or 1 when a checked cell has wrong rows.
// Throws c2r::Error (raised_on_all_ranks() for bad input) on failure.
int run_command(const RunOptions& options, const std::vector<std::string>& argv,
                const Communicator& comm);

// Mean per-layer ratios of every grid cell to its layer's baseline.
nlohmann::json summarize_layers(const nlohmann::json& results);

}  // namespace c2r
