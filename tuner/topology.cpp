#include "tuner/topology.hpp"

#include <mpi.h>
#include <unistd.h>

#include <algorithm>
#include <ostream>

#include "common/error.hpp"
#include "common/json_fields.hpp"
#include "common/json_text.hpp"
#include "results/stats.hpp"
#include "results/table.hpp"

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

json place_json(const RankPlace& p) {
  return {{"rank", p.rank},         {"host", p.host},
          {"node", p.node},         {"cpuset", p.cpuset},
          {"packages", p.packages}, {"numa_nodes", p.numa_nodes},
          {"cores", p.cores},       {"nearby_devices", p.nearby_devices}};
}

RankPlace place_from_json(const json& j) {
  RankPlace p;
  p.rank = j.at("rank");
  p.host = j.at("host");
  p.node = j.value("node", 0);
  p.cpuset = j.at("cpuset");
  p.packages = j.at("packages").get<std::vector<int>>();
  p.numa_nodes = j.at("numa_nodes").get<std::vector<int>>();
  p.cores = j.at("cores");
  p.nearby_devices = j.at("nearby_devices").get<std::vector<std::string>>();
  return p;
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
  C2R_CHECK(options.repetitions >= 1, "--repetitions must be at least 1");
  C2R_CHECK(options.small_bytes >= 1 && options.large_bytes > options.small_bytes,
            "the bandwidth probe must be larger than the latency probe");
  const int ranks = comm.size();
  ClusterProfile profile;
  profile.ranks = ranks;

  // Places: gathered as JSON; nodes numbered by first appearance of each host.
  const std::vector<std::string> all =
      comm.allgather_strings(place_json(local_place(comm.rank())).dump());
  std::vector<std::string> hosts;
  for (const auto& text : all) {
    RankPlace p = place_from_json(json::parse(text));
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

json ClusterProfile::to_json() const {
  json j_places = json::array();
  for (const auto& p : places) j_places.push_back(place_json(p));
  return {{"schema", "c2rbench.cluster"},
          {"schema_version", 1},
          {"ranks", ranks},
          {"places", j_places},
          {"latency_s", latency_s},
          {"bandwidth_Bps", bandwidth_Bps},
          {"alltoall",
           {{"bytes", alltoall_bytes},
            {"seconds", alltoall_s},
            {"fit_latency_s", alltoall_latency_s},
            {"fit_bandwidth_Bps", alltoall_bandwidth_Bps}}}};
}

namespace {

// Checked reads of a saved profile's fields (every problem names the file and the field).
const json& array_field(const json& object, const char* key, const std::string& where) {
  C2R_CHECK(object.is_object() && object.contains(key) && object[key].is_array(),
            where << ": missing array \"" << key << "\"");
  return object[key];
}

std::vector<double> number_array(const json& object, const char* key, const std::string& where) {
  std::vector<double> out;
  for (const auto& v : array_field(object, key, where)) {
    C2R_CHECK(is_finite_number(v), where << ": \"" << key << "\" holds a non-number");
    out.push_back(v.get<double>());
  }
  return out;
}

std::vector<int> index_array(const json& object, const char* key, const std::string& where) {
  std::vector<int> out;
  for (const auto& v : array_field(object, key, where)) {
    C2R_CHECK(is_integer_in(v, 0, INT32_MAX), where << ": \"" << key << "\" holds a non-index");
    out.push_back(v.get<int>());
  }
  return out;
}

std::string text_field(const json& object, const char* key, const std::string& where) {
  C2R_CHECK(object.is_object() && object.contains(key) && object[key].is_string(),
            where << ": missing string \"" << key << "\"");
  return object[key].get<std::string>();
}

// A place as `c2rbench topo` writes it; nodes are numbered by first appearance, so below `ranks`.
RankPlace place_from_file(const json& j, int ranks, const std::string& where) {
  RankPlace p;
  p.rank = int_field(j, "rank", 0, ranks - 1, where, "a rank of the profile");
  p.host = text_field(j, "host", where);
  p.node = j.contains("node")
               ? int_field(j, "node", 0, ranks - 1, where, "a node index below ranks")
               : 0;
  p.cpuset = text_field(j, "cpuset", where);
  p.packages = index_array(j, "packages", where);
  p.numa_nodes = index_array(j, "numa_nodes", where);
  p.cores = int_field(j, "cores", 0, INT32_MAX, where, "a core count");
  for (const auto& d : array_field(j, "nearby_devices", where)) {
    C2R_CHECK(d.is_string(), where << ": \"nearby_devices\" holds a non-string");
    p.nearby_devices.push_back(d.get<std::string>());
  }
  return p;
}

}  // namespace

ClusterProfile parse_cluster_profile(const std::string& text, const std::string& source) {
  const json doc = parse_json_text(text, source);
  C2R_CHECK(doc.is_object() && string_field(doc, "schema", "", source) == "c2rbench.cluster",
            source << ": not a cluster profile (expected \"schema\": \"c2rbench.cluster\")");
  const int version = int_field(doc, "schema_version", INT32_MIN, INT32_MAX, source, "an integer");
  C2R_CHECK(version == 1, source << ": cluster profile schema_version " << version
                                 << " is not supported (this c2rbench reads version 1)");
  ClusterProfile p;
  p.ranks = int_field(doc, "ranks", 1, INT32_MAX, source, "a positive integer");
  const json& places = array_field(doc, "places", source);
  for (size_t i = 0; i < places.size(); ++i) {
    p.places.push_back(
        place_from_file(places[i], p.ranks, source + ": places[" + std::to_string(i) + "]"));
  }
  p.latency_s = number_array(doc, "latency_s", source);
  p.bandwidth_Bps = number_array(doc, "bandwidth_Bps", source);
  C2R_CHECK(doc.contains("alltoall") && doc["alltoall"].is_object(),
            source << ": missing object \"alltoall\"");
  const json& a2a = doc["alltoall"];
  const std::string a2a_where = source + ": alltoall";
  for (const auto& v : array_field(a2a, "bytes", a2a_where)) {
    C2R_CHECK(is_integer_in(v, 0, INT64_MAX), a2a_where << ": \"bytes\" holds a non-size");
    p.alltoall_bytes.push_back(v.get<int64_t>());
  }
  p.alltoall_s = number_array(a2a, "seconds", a2a_where);
  for (const char* key : {"fit_latency_s", "fit_bandwidth_Bps"}) {
    C2R_CHECK(a2a.contains(key) && is_finite_number(a2a[key]),
              a2a_where << ": missing number \"" << key << "\"");
  }
  p.alltoall_latency_s = a2a["fit_latency_s"].get<double>();
  p.alltoall_bandwidth_Bps = a2a["fit_bandwidth_Bps"].get<double>();
  const size_t cells = static_cast<size_t>(p.ranks) * p.ranks;
  C2R_CHECK(p.places.size() == static_cast<size_t>(p.ranks) && p.latency_s.size() == cells &&
                p.bandwidth_Bps.size() == cells,
            source << ": the cluster profile's places and matrices do not match its " << p.ranks
                   << " ranks");
  C2R_CHECK(p.alltoall_bytes.size() == p.alltoall_s.size(),
            source << ": alltoall has " << p.alltoall_bytes.size() << " sizes but "
                   << p.alltoall_s.size() << " times");
  C2R_CHECK(p.alltoall_bandwidth_Bps > 0.0,
            source << ": the cluster profile has no fitted all2all bandwidth");
  return p;
}

void print_cluster_profile(std::ostream& out, const ClusterProfile& profile) {
  const int ranks = profile.ranks;
  out << "# c2rbench topo: " << ranks << " ranks\n";
  Table places({{"rank", ""},
                {"host", "", true},
                {"node", ""},
                {"cpuset", "", true},
                {"cores", ""},
                {"numa", "", true},
                {"nearby devices", "", true}});
  for (const auto& p : profile.places) {
    std::string numa, devices;
    for (int n : p.numa_nodes) numa += (numa.empty() ? "" : ",") + std::to_string(n);
    for (const auto& d : p.nearby_devices) devices += (devices.empty() ? "" : ",") + d;
    places.add_row({std::to_string(p.rank), p.host, std::to_string(p.node), p.cpuset,
                    std::to_string(p.cores), numa, devices.empty() ? "-" : devices});
  }
  places.print(out);
  for (int which = 0; which < 2; ++which) {
    out << (which == 0 ? "# one-way latency (us), row = from\n"
                       : "# ping-pong bandwidth (GB/s), row = from\n");
    std::vector<Table::Column> columns = {{"rank", ""}};
    for (int r = 0; r < ranks; ++r)
      columns.push_back({std::to_string(r), which == 0 ? "us" : "GB/s"});
    Table matrix(columns);
    for (int i = 0; i < ranks; ++i) {
      std::vector<std::string> row = {std::to_string(i)};
      for (int j = 0; j < ranks; ++j) {
        const size_t at = static_cast<size_t>(i) * ranks + j;
        row.push_back(i == j       ? "-"
                      : which == 0 ? format_fixed(profile.latency_s[at] * 1e6, 2)
                                   : format_fixed(profile.bandwidth_Bps[at] / 1e9, 2));
      }
      matrix.add_row(row);
    }
    matrix.print(out);
  }
  out << "# all2all (bytes each rank sends in all; time = max over ranks, median)\n";
  Table a2a({{"bytes", "B"}, {"time", "us"}, {"algbw", "GB/s"}});
  for (size_t i = 0; i < profile.alltoall_bytes.size(); ++i) {
    const double s = profile.alltoall_s[i];
    a2a.add_row({std::to_string(profile.alltoall_bytes[i]), format_fixed(s * 1e6, 1),
                 format_fixed(s > 0 ? profile.alltoall_bytes[i] / s / 1e9 : 0.0, 2)});
  }
  a2a.print(out);
  out << "# all2all fit: time = " << format_fixed(profile.alltoall_latency_s * 1e6, 2)
      << " us + bytes / " << format_fixed(profile.alltoall_bandwidth_Bps / 1e9, 2) << " GB/s\n";
}

}  // namespace c2r
