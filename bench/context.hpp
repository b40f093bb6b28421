#pragma once
// The report's "context": where and how a run happened (hosts, each rank's CPU model and binding,
// versions, the launcher, the environment variables that change results, argv, time).

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/communicator.hpp"

namespace c2r {

// Whether the report's context records environment variable `name`: those that change what a
// run does or measures, as nccl-tests' JSON records them: OMPI_*, UCX_*, NCCL_*, SLURM_*,
// OPENBLAS_*, OMP_* and CUDA_VISIBLE_DEVICES.
bool is_recorded_variable(const std::string& name);

// Collective: every rank contributes its host, CPU model and hwloc CPU binding; rank 0's recorded
// environment stands for the job's.
nlohmann::json collect_context(const Communicator& comm, const std::vector<std::string>& argv);

// "YYYYmmdd-HHMMSS" in local time, for default report names.
std::string timestamp_for_filename();

}  // namespace c2r
