#pragma once
// How much memory one rank of a command needs, estimated from its configuration before anything is
// allocated, so that a command too large for the machine is refused with a clear message instead
// of being killed part-way (or swapping) on some ranks. Every size is formed with checked products
// (common/checked_size.hpp): a buffer whose size does not fit in 64 bits is estimated as +infinity,
// which no limit admits, instead of wrapping around to a small size that would pass.

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "bench/run_config.hpp"
#include "common/communicator.hpp"
#include "tuner/topology.hpp"

namespace c2r {

struct MemoryEstimate {
  std::vector<std::pair<std::string, double>> items;  // (what, bytes), largest first
  // The sum of the items; +infinity when an item, or the sum, reaches 2^63 bytes (no process can
  // address it, and sizes that large no longer fit the 64-bit counts the command works with).
  double total_bytes = 0.0;
};

// Per-rank upper estimate for `config` (the largest cell of the grid; expert weights of every
// expert a rank may hold across cells, all of them with --check). +infinity as well when the job's
// token or (token, expert) pair count does not fit in 64 bits.
MemoryEstimate estimate_rank_memory(const RunConfig& config);

// Per-rank upper estimate of measuring the cluster (`topo`, and `tune` on this job's ranks) with
// `options` on `ranks` ranks: the bandwidth probe's buffer, the largest all2all's send and receive
// buffers, the rank-to-rank matrices (and the profile's copies), the timings and the rank places.
MemoryEstimate estimate_topology_memory(const TopologyOptions& options, int ranks);

// Sorts `e`'s items, largest first, and sets its total.
void finish_estimate(MemoryEstimate& e);

// The items with a non-zero size, as the error messages list them: "what 1.00 GiB, what 2.00 MiB".
std::string describe_items(const MemoryEstimate& e);

// Collective: how many of the job's ranks share this rank's node.
int ranks_on_this_node(const Communicator& comm);

// What this node's memory allows each of its `local_ranks` ranks: physical memory / local ranks.
double default_memory_per_rank(int local_ranks);

// "640 B", "2.00 KiB", "1.50 GiB", ... up to EiB; "8 EiB or more" from 2^63 bytes (and for
// +infinity).
std::string format_bytes(double bytes);

}  // namespace c2r
