#include "tuner/cluster_model.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "common/error.hpp"
#include "common/json_fields.hpp"
#include "common/json_text.hpp"
#include "results/stats.hpp"

namespace c2r {

using nlohmann::json;

json ComputeRates::to_json() const {
  json j = {{"expert_gflops", expert_flops_per_s / 1e9},
            {"expert_call_us", expert_call_s * 1e6},
            {"router_gflops", router_flops_per_s / 1e9},
            {"copy_GBps", copy_Bps / 1e9},
            {"source", source}};
  // Only when measured (0: the same as the shared rate).
  if (expert_alone_flops_per_s > 0) j["expert_alone_gflops"] = expert_alone_flops_per_s / 1e9;
  if (scatter_Bps > 0) j["scatter_GBps"] = scatter_Bps / 1e9;
  return j;
}

int ClusterModel::nodes() const {
  return node_of_rank.empty() ? 0 : *std::max_element(node_of_rank.begin(), node_of_rank.end()) + 1;
}

json ClusterModel::to_json() const {
  return {{"name", name},
          {"origin", origin},
          {"ranks", ranks},
          {"nodes", nodes()},
          {"node_of_rank", node_of_rank},
          {"intra_node",
           {{"latency_us", intra.latency_s * 1e6}, {"bandwidth_GBps", intra.bandwidth_Bps / 1e9}}},
          {"inter_node",
           {{"latency_us", inter.latency_s * 1e6}, {"bandwidth_GBps", inter.bandwidth_Bps / 1e9}}},
          {"rates", rates.to_json()},
          {"sources", sources}};
}

ClusterModel cluster_model_from_profile(const ClusterProfile& profile, const ComputeRates& rates) {
  ClusterModel m;
  m.name = "this job's ranks";
  m.origin = "measured";
  m.ranks = profile.ranks;
  for (const auto& place : profile.places) m.node_of_rank.push_back(place.node);
  // A non-positive intercept means the latency is below what the fit resolves: take what the
  // smallest probe's time leaves after its bytes.
  double intra_latency = profile.alltoall_latency_s;
  if (intra_latency <= 0.0 && !profile.alltoall_s.empty()) {
    intra_latency = std::max(0.0, profile.alltoall_s.front() - profile.alltoall_bytes.front() /
                                                                   profile.alltoall_bandwidth_Bps);
  }
  m.intra = {intra_latency, profile.alltoall_bandwidth_Bps};
  m.inter = m.intra;
  std::vector<double> latency, bandwidth;
  for (int a = 0; a < profile.ranks; ++a) {
    for (int b = 0; b < profile.ranks; ++b) {
      if (m.same_node(a, b)) continue;
      latency.push_back(profile.latency_s[static_cast<size_t>(a) * profile.ranks + b]);
      bandwidth.push_back(profile.bandwidth_Bps[static_cast<size_t>(a) * profile.ranks + b]);
    }
  }
  if (!latency.empty()) {
    std::vector<int> per_node(m.nodes(), 0);
    for (int node : m.node_of_rank) ++per_node[node];
    const int sharing = *std::max_element(per_node.begin(), per_node.end());
    m.inter = {summarize(latency).median, summarize(bandwidth).median / sharing};
  }
  m.rates = rates;
  return m;
}

bool is_cluster_spec(const std::string& text) {
  try {
    const json doc = json::parse(text);
    return doc.is_object() && doc.contains("schema") && doc["schema"] == "c2rbench.cluster-spec";
  } catch (const json::exception&) {
    return false;
  }
}

namespace {

double positive(const json& object, const char* key, const std::string& where) {
  C2R_CHECK(object.is_object() && object.contains(key) && object[key].is_number(),
            where << ": missing number \"" << key << "\"");
  const double v = object[key].get<double>();
  C2R_CHECK(v > 0.0, where << ": \"" << key << "\" must be positive (got " << v << ")");
  return v;
}

}  // namespace

ClusterModel parse_cluster_spec(const std::string& text, const std::string& source) {
  const json doc = parse_json_text(text, source);
  C2R_CHECK(doc.is_object() && string_field(doc, "schema", "", source) == "c2rbench.cluster-spec",
            source << ": not a described cluster (expected \"schema\": \"c2rbench.cluster-spec\")");
  const int version = int_field(doc, "schema_version", INT32_MIN, INT32_MAX, source, "an integer");
  C2R_CHECK(version == 1, source << ": cluster-spec schema_version " << version
                                 << " is not supported (this c2rbench reads version 1)");
  ClusterModel m;
  m.origin = "described";
  m.name = string_field(doc, "name", source, source);
  const double nodes = positive(doc, "nodes", source);
  const double per_node = positive(doc, "gpus_per_node", source);
  // Compared before any conversion to int: a double beyond int's range does not convert.
  C2R_CHECK(nodes == std::floor(nodes) && per_node == std::floor(per_node),
            source << ": \"nodes\" and \"gpus_per_node\" must be whole numbers");
  C2R_CHECK(nodes * per_node <= kMaxDescribedRanks,
            source << ": \"nodes\" x \"gpus_per_node\" is " << nodes * per_node
                   << " ranks, more than c2rbench simulates (" << kMaxDescribedRanks << ")");
  m.ranks = static_cast<int>(nodes) * static_cast<int>(per_node);
  for (int r = 0; r < m.ranks; ++r) m.node_of_rank.push_back(r / static_cast<int>(per_node));
  C2R_CHECK(doc.contains("intra_node"), source << ": missing \"intra_node\"");
  m.intra = {positive(doc["intra_node"], "latency_us", source + " intra_node") * 1e-6,
             positive(doc["intra_node"], "bandwidth_GBps", source + " intra_node") * 1e9};
  if (nodes > 1) {
    C2R_CHECK(doc.contains("inter_node"), source << ": missing \"inter_node\" (nodes > 1)");
    m.inter = {positive(doc["inter_node"], "latency_us", source + " inter_node") * 1e-6,
               positive(doc["inter_node"], "bandwidth_GBps", source + " inter_node") * 1e9};
  } else {
    m.inter = m.intra;
  }
  m.rates.expert_flops_per_s = positive(doc, "expert_gemm_tflops", source) * 1e12;
  m.rates.router_flops_per_s =
      (doc.contains("router_gemm_tflops") ? positive(doc, "router_gemm_tflops", source)
                                          : m.rates.expert_flops_per_s / 1e12) *
      1e12;
  // A gather reads and writes every byte it moves.
  m.rates.copy_Bps = positive(doc, "memory_GBps", source) * 1e9 / 2.0;
  m.rates.source = "described in " + source;
  if (doc.contains("sources")) {
    C2R_CHECK(doc["sources"].is_array(), source << ": \"sources\" must be an array");
    m.sources = doc["sources"];
  }
  return m;
}

}  // namespace c2r
