#include "results/cluster_profile.hpp"

#include <map>

#include "common/error.hpp"
#include "common/json_fields.hpp"
#include "common/json_text.hpp"
#include "results/table.hpp"

namespace c2r {

using nlohmann::json;

json rank_place_json(const RankPlace& p) {
  return {{"rank", p.rank},         {"host", p.host},
          {"node", p.node},         {"cpuset", p.cpuset},
          {"packages", p.packages}, {"numa_nodes", p.numa_nodes},
          {"cores", p.cores},       {"nearby_devices", p.nearby_devices}};
}

json ClusterProfile::to_json() const {
  json j_places = json::array();
  for (const auto& p : places) j_places.push_back(rank_place_json(p));
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

// Times, latencies and bandwidths: numbers of at least 0 (0 on a matrix's diagonal).
std::vector<double> non_negative_array(const json& object, const char* key,
                                       const std::string& where) {
  std::vector<double> out;
  for (const auto& v : array_field(object, key, where)) {
    C2R_CHECK(is_finite_number(v), where << ": \"" << key << "\" holds a non-number");
    C2R_CHECK(v.get<double>() >= 0.0,
              where << ": \"" << key << "\" holds " << v.get<double>() << ", below 0");
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

}  // namespace

// A place as `c2rbench topo` writes it; nodes are numbered by first appearance, so below `ranks`.
RankPlace rank_place_from_json(const json& j, int ranks, const std::string& where) {
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
  std::map<int, size_t> place_of_rank;
  for (size_t i = 0; i < places.size(); ++i) {
    const std::string where = source + ": places[" + std::to_string(i) + "]";
    p.places.push_back(rank_place_from_json(places[i], p.ranks, where));
    // With as many places as ranks (checked below), a rank placed twice leaves another unplaced.
    const auto [first, added] = place_of_rank.emplace(p.places.back().rank, i);
    C2R_CHECK(added,
              where << ": rank " << first->first << " is already places[" << first->second << "]");
  }
  p.latency_s = non_negative_array(doc, "latency_s", source);
  p.bandwidth_Bps = non_negative_array(doc, "bandwidth_Bps", source);
  C2R_CHECK(doc.contains("alltoall") && doc["alltoall"].is_object(),
            source << ": missing object \"alltoall\"");
  const json& a2a = doc["alltoall"];
  const std::string a2a_where = source + ": alltoall";
  for (const auto& v : array_field(a2a, "bytes", a2a_where)) {
    C2R_CHECK(is_integer_in(v, 0, INT64_MAX), a2a_where << ": \"bytes\" holds a non-size");
    p.alltoall_bytes.push_back(v.get<int64_t>());
  }
  p.alltoall_s = non_negative_array(a2a, "seconds", a2a_where);
  for (const char* key : {"fit_latency_s", "fit_bandwidth_Bps"}) {
    C2R_CHECK(a2a.contains(key) && is_finite_number(a2a[key]),
              a2a_where << ": missing number \"" << key << "\"");
  }
  // A least-squares intercept: it may fall below 0 when the small sizes are noisy, unlike the
  // measured times.
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
