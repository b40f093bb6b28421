#pragma once
// Whether the ranks' CPU binding lets every rank run alone on its cores: ranks of one host that
// share cores, or more OpenBLAS threads than a rank's bound cores, time-share the CPU, and every
// timing then includes that. `run` prints these warnings and records them in the report's context.

#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace c2r {

// The CPUs of an hwloc list ("0-3,8,10-11"), ascending; nullopt for anything else ("unknown",
// hwloc's infinite sets, a malformed list).
std::optional<std::vector<int>> parse_cpu_list(const std::string& list);

// Warnings for the context's "rank_binding" entries ({rank, host, binding: {cpuset, cores}}), at
// `blas_threads` OpenBLAS threads per rank: one per host whose ranks share CPUs (unbound ranks
// share all of them), and one per host whose ranks are bound to fewer cores than threads. Ranks
// with an unknown binding are left out. Empty when every rank has cores of its own.
std::vector<std::string> binding_warnings(const nlohmann::json& rank_binding, int blas_threads);

}  // namespace c2r
