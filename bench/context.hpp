#pragma once
// The report's "context": where and how a run happened (hosts, rank bindings, versions, argv,
// time).

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/communicator.hpp"

namespace c2r {

// Collective: every rank contributes its host and hwloc CPU binding.
nlohmann::json collect_context(const Communicator& comm, const std::vector<std::string>& argv);

// "YYYYmmdd-HHMMSS" in local time, for default report names.
std::string timestamp_for_filename();

}  // namespace c2r
