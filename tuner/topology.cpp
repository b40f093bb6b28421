#include "tuner/topology.hpp"

#include <mpi.h>
#include <unistd.h>

#include <algorithm>
#include <ostream>

#include "common/error.hpp"
#include "common/json_fields.hpp"
#include "common/json_text.hpp"
#include "results/stats.hpp"

#ifdef C2R_HAVE_HWLOC
#include <hwloc.h>
#endif

namespace c2r {

using nlohmann::json;

std::vector<std::vector<std::pair<int, int>>> pair_rounds(int ranks) {
  // Circle method over an even number of seats; a seat >= ranks is a bye.
  const int seats = ranks % 2 == 0 ? ranks : ranks + 1;
  std::vector<int> seat(seats);
  for (int i = 0; i < seats; ++i) seat[i] = i;
  std::vector<std::vector<std::pair<int, int>>> rounds;
  for (int r = 0; r + 1 < seats; ++r) {
    std::vector<std::pair<int, int>> round;
    for (int i = 0; i < seats / 2; ++i) {
      const int a = seat[i], b = seat[seats - 1 - i];
      if (a < ranks && b < ranks) round.emplace_back(std::min(a, b), std::max(a, b));
    }
    rounds.push_back(round);
    std::rotate(seat.begin() + 1, seat.end() - 1, seat.end());  // seat 0 stays, others turn
  }
  return rounds;
}

std::pair<double, double> fit_latency_bandwidth(const std::vector<double>& bytes,
                                                const std::vector<double>& seconds) {
  C2R_CHECK(bytes.size() == seconds.size() && bytes.size() >= 2,
            "a latency/bandwidth fit needs at least two sizes");
  const double n = static_cast<double>(bytes.size());
  double mean_x = 0, mean_y = 0;
  for (size_t i = 0; i < bytes.size(); ++i) {
    mean_x += bytes[i] / n;
    mean_y += seconds[i] / n;
  }
  double cov = 0, var = 0;
  for (size_t i = 0; i < bytes.size(); ++i) {
    cov += (bytes[i] - mean_x) * (seconds[i] - mean_y);
    var += (bytes[i] - mean_x) * (bytes[i] - mean_x);
  }
  const double slope = var > 0 ? cov / var : 0.0;
  // A non-positive slope means the sizes were too small to see bandwidth: report 0 (unknown).
  return {mean_y - slope * mean_x, slope > 0 ? 1.0 / slope : 0.0};
}

namespace {

RankPlace local_place(int rank) {
  RankPlace place;
  place.rank = rank;
  char host[256] = {0};
  gethostname(host, sizeof(host) - 1);
  place.host = host;
#ifdef C2R_HAVE_HWLOC
  hwloc_topology_t topology;
  C2R_CHECK(hwloc_topology_init(&topology) == 0, "hwloc_topology_init failed");
  hwloc_topology_set_io_types_filter(topology, HWLOC_TYPE_FILTER_KEEP_IMPORTANT);
  if (hwloc_topology_load(topology) == 0) {
    hwloc_bitmap_t set = hwloc_bitmap_alloc();
    if (hwloc_get_cpubind(topology, set, HWLOC_CPUBIND_PROCESS) != 0) {
      hwloc_bitmap_copy(set, hwloc_topology_get_topology_cpuset(topology));
    }
    char* text = nullptr;
    hwloc_bitmap_list_asprintf(&text, set);
    place.cpuset = text ? text : "";
    free(text);
    place.cores = hwloc_get_nbobjs_inside_cpuset_by_type(topology, set, HWLOC_OBJ_CORE);
    for (auto [type, out] : {std::pair{HWLOC_OBJ_PACKAGE, &place.packages},
                             std::pair{HWLOC_OBJ_NUMANODE, &place.numa_nodes}}) {
      for (hwloc_obj_t obj = hwloc_get_next_obj_by_type(topology, type, nullptr); obj;
           obj = hwloc_get_next_obj_by_type(topology, type, obj)) {
        if (obj->cpuset && hwloc_bitmap_intersects(obj->cpuset, set)) {
          out->push_back(static_cast<int>(obj->logical_index));
        }
      }
    }
    // GPUs and NICs whose closest CPU-side ancestor overlaps this rank's cores.
    for (hwloc_obj_t dev = hwloc_get_next_osdev(topology, nullptr); dev;
         dev = hwloc_get_next_osdev(topology, dev)) {
      const auto kind = dev->attr->osdev.type;
      const bool wanted = kind == HWLOC_OBJ_OSDEV_GPU || kind == HWLOC_OBJ_OSDEV_COPROC ||
                          kind == HWLOC_OBJ_OSDEV_NETWORK || kind == HWLOC_OBJ_OSDEV_OPENFABRICS;
      hwloc_obj_t near = hwloc_get_non_io_ancestor_obj(topology, dev);
      if (wanted && dev->name && near && near->cpuset &&
          hwloc_bitmap_intersects(near->cpuset, set)) {
        place.nearby_devices.push_back(dev->name);
      }
    }
    hwloc_bitmap_free(set);
  }
  hwloc_topology_destroy(topology);
#endif
  return place;
}

// Median one-way time of `repetitions` ping-pongs of `bytes` between this rank and `peer`;
// `leader` sends first. Only the leader's value is meaningful.
double ping_pong(const Communicator& comm, int peer, bool leader, int bytes, int repetitions,
                 std::vector<char>& buffer) {
  std::vector<double> one_way;
  for (int i = -2; i < repetitions; ++i) {  // two untimed warm-ups
    const double start = MPI_Wtime();
    if (leader) {
      C2R_MPI_CHECK(MPI_Send(buffer.data(), bytes, MPI_BYTE, peer, 7, comm.get()));
      C2R_MPI_CHECK(
          MPI_Recv(buffer.data(), bytes, MPI_BYTE, peer, 7, comm.get(), MPI_STATUS_IGNORE));
    } else {
      C2R_MPI_CHECK(
          MPI_Recv(buffer.data(), bytes, MPI_BYTE, peer, 7, comm.get(), MPI_STATUS_IGNORE));
      C2R_MPI_CHECK(MPI_Send(buffer.data(), bytes, MPI_BYTE, peer, 7, comm.get()));
    }
    if (i >= 0) one_way.push_back((MPI_Wtime() - start) / 2.0);
  }
  return summarize(one_way).median;
}

}  // namespace

ClusterProfile measure_cluster(const Communicator& comm, const TopologyOptions& options) {
  C2R_CHECK(options.repetitions >= 1, "a topology probe needs at least 1 repetition");
  C2R_CHECK(options.small_bytes >= 1 && options.large_bytes > options.small_bytes,
            "the bandwidth probe must be larger than the latency probe");
  const int ranks = comm.size();
  ClusterProfile profile;
  profile.ranks = ranks;

  // Places: gathered as JSON; nodes numbered by first appearance of each host.
  const std::vector<std::string> all =
      comm.allgather_strings(rank_place_json(local_place(comm.rank())).dump());
  std::vector<std::string> hosts;
  for (const auto& text : all) {
    RankPlace p = rank_place_from_json(json::parse(text), ranks, "the gathered rank places");
    auto it = std::find(hosts.begin(), hosts.end(), p.host);
    p.node = static_cast<int>(it - hosts.begin());
    if (it == hosts.end()) hosts.push_back(p.host);
    profile.places.push_back(p);
  }

  // Pairwise latency and bandwidth, one round of disjoint pairs at a time.
  std::vector<double> latency(static_cast<size_t>(ranks) * ranks, 0.0);
  std::vector<double> bandwidth(latency.size(), 0.0);
  std::vector<char> buffer(options.large_bytes, 1);
  for (const auto& round : pair_rounds(ranks)) {
    comm.barrier();
    for (const auto& [a, b] : round) {
      if (comm.rank() != a && comm.rank() != b) continue;
      const bool leader = comm.rank() == a;
      const int peer = leader ? b : a;
      const double small =
          ping_pong(comm, peer, leader, options.small_bytes, options.repetitions, buffer);
      const double large =
          ping_pong(comm, peer, leader, options.large_bytes, options.repetitions, buffer);
      if (leader) {
        for (auto [i, j] : {std::pair{a, b}, std::pair{b, a}}) {
          latency[static_cast<size_t>(i) * ranks + j] = small;
          bandwidth[static_cast<size_t>(i) * ranks + j] = options.large_bytes / large;
        }
      }
    }
  }
  comm.allreduce_sum(latency);
  comm.allreduce_sum(bandwidth);
  profile.latency_s = latency;
  profile.bandwidth_Bps = bandwidth;

  // All2all at several sizes (bytes each rank sends in all), fitted to latency + bytes / bandwidth.
  std::vector<double> fit_bytes;
  for (int64_t total : options.alltoall_bytes) {
    const int per_peer = static_cast<int>(std::max<int64_t>(1, total / ranks));
    std::vector<char> send(static_cast<size_t>(per_peer) * ranks, 2), recv(send.size());
    std::vector<double> times;
    for (int i = -2; i < options.repetitions; ++i) {
      comm.barrier();
      const double start = MPI_Wtime();
      C2R_MPI_CHECK(MPI_Alltoall(send.data(), per_peer, MPI_BYTE, recv.data(), per_peer, MPI_BYTE,
                                 comm.get()));
      if (i >= 0) times.push_back(MPI_Wtime() - start);
    }
    comm.allreduce_max(times);
    profile.alltoall_bytes.push_back(static_cast<int64_t>(per_peer) * ranks);
    profile.alltoall_s.push_back(summarize(times).median);
    fit_bytes.push_back(static_cast<double>(per_peer) * ranks);
  }
  std::tie(profile.alltoall_latency_s, profile.alltoall_bandwidth_Bps) =
      fit_latency_bandwidth(fit_bytes, profile.alltoall_s);
  return profile;
}

}  // namespace c2r
