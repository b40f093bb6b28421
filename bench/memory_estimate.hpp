#pragma once
// How much memory one rank of a run needs, estimated from the configuration before anything is
// allocated, so that a run too large for the machine is refused with a clear message instead of
// being killed part-way (or swapping) on some ranks.

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "bench/run_config.hpp"

namespace c2r {

struct MemoryEstimate {
  std::vector<std::pair<std::string, double>> items;  // (what, bytes), largest first
  double total_bytes = 0.0;
};

// Per-rank upper estimate for `config` (the largest cell of the grid; expert weights of every
// expert a rank may hold across cells, all of them with --check).
MemoryEstimate estimate_rank_memory(const RunConfig& config);

// What this node's memory allows each of its `local_ranks` ranks: physical memory / local ranks.
double default_memory_per_rank(int local_ranks);

std::string format_bytes(double bytes);

}  // namespace c2r
