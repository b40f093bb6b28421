#pragma once
// What `c2rbench topo` measured: where every rank runs and what talking between ranks costs, as a
// value (ClusterProfile), its file (schema "c2rbench.cluster") and its printed tables. The tuner
// measures it (tuner/topology.hpp) and builds its cluster model from it.

#include <cstdint>
#include <ostream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

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

// A rank's place as the profile stores it, and back; the reader checks every field and names
// `where` in its errors (nodes are numbered by first appearance, so below `ranks`).
nlohmann::json rank_place_json(const RankPlace& place);
RankPlace rank_place_from_json(const nlohmann::json& j, int ranks, const std::string& where);

// Reads a profile saved by `c2rbench topo` (schema "c2rbench.cluster"); throws c2r::Error naming
// `source` when it is malformed or inconsistent.
ClusterProfile parse_cluster_profile(const std::string& text, const std::string& source);

void print_cluster_profile(std::ostream& out, const ClusterProfile& profile);

}  // namespace c2r
