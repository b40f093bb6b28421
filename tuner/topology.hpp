#pragma once
// Cluster topology for the tuner: where every rank runs (hwloc) and what talking between ranks
// costs (measured). `c2rbench topo` prints it and saves it as a cluster profile JSON.

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/communicator.hpp"
#include "results/cluster_profile.hpp"

namespace c2r {

// Rounds of disjoint rank pairs covering every pair exactly once (circle method): with R ranks,
// R-1 rounds for even R, R rounds for odd R (one rank idle each round).
std::vector<std::vector<std::pair<int, int>>> pair_rounds(int ranks);

// Least-squares fit of time = latency + bytes / bandwidth. Returns {latency_s, bandwidth_Bps}.
std::pair<double, double> fit_latency_bandwidth(const std::vector<double>& bytes,
                                                const std::vector<double>& seconds);

struct TopologyOptions {
  int small_bytes = 8;        // latency probe size
  int large_bytes = 4 << 20;  // bandwidth probe size
  int repetitions = 20;       // ping-pongs per probe (median kept)
  // Per-rank all2all bytes: up to a full-size layer's exchange, whose buffers are cache-cold.
  std::vector<int64_t> alltoall_bytes = {1 << 10, 64 << 10, 1 << 20, 4 << 20, 16 << 20, 64 << 20};
};

// Collective: every rank takes part; the profile is complete on every rank.
ClusterProfile measure_cluster(const Communicator& comm, const TopologyOptions& options);

}  // namespace c2r
