#pragma once
// Cluster topology for the tuner: where every rank runs (hwloc) and what talking between ranks
// costs (measured). `c2rbench topo` prints it and saves it as a cluster profile JSON.

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "collectives/communicator.hpp"

namespace c2r {

// One rank's place in the machine, from hwloc.
struct RankPlace {
  int rank = 0;
  std::string host;
  int node = 0;                             // index of its host among the job's hosts
  std::string cpuset;                       // hwloc list of the cores it is bound to
  std::vector<int> packages, numa_nodes;    // logical indexes it overlaps
  int cores = 0;                            // cores in its binding
  std::vector<std::string> nearby_devices;  // GPUs / NICs hwloc places close to its binding
};

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

struct ClusterProfile {
  int ranks = 0;
  std::vector<RankPlace> places;        // [ranks]
  std::vector<double> latency_s;        // [ranks x ranks], one-way, 0 on the diagonal
  std::vector<double> bandwidth_Bps;    // [ranks x ranks], 0 on the diagonal
  std::vector<int64_t> alltoall_bytes;  // per-rank bytes of each all2all probe
  std::vector<double> alltoall_s;       // median time of each probe (max over ranks)
  double alltoall_latency_s = 0, alltoall_bandwidth_Bps = 0;  // fitted

  nlohmann::json to_json() const;
};

// Collective: every rank takes part; the profile is complete on every rank.
ClusterProfile measure_cluster(const Communicator& comm, const TopologyOptions& options);

// Reads a profile saved by `c2rbench topo` (schema "c2rbench.cluster"); throws c2r::Error naming
// `source` when it is malformed or inconsistent.
ClusterProfile parse_cluster_profile(const std::string& text, const std::string& source);

void print_cluster_profile(std::ostream& out, const ClusterProfile& profile);

}  // namespace c2r
