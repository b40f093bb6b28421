#pragma once
// What the cost model knows about a cluster: which ranks share a node, what an all2all costs
// within and across nodes, and how fast a rank computes. Built from a measured profile
// (`c2rbench topo`, plus rates calibrated on the job's own ranks) or from a described cluster
// file (schema "c2rbench.cluster-spec": nodes x GPUs per node, link figures, GEMM rate) for
// simulating deployments larger than the machine at hand.

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "tuner/topology.hpp"

namespace c2r {

// time = latency + bytes / bandwidth, for the bytes one rank sends (or receives) in an all2all.
struct LinkCost {
  double latency_s = 0.0;
  double bandwidth_Bps = 0.0;
};

// Per-rank compute rates the cost model turns rows and FLOPs into seconds with.
struct ComputeRates {
  // SwiGLU expert FFN GEMMs: one expert's GEMMs on `rows` rows take
  //   expert_call_s + rows * 6 H F / expert_flops_per_s
  // (the fixed part streams and packs the expert's weights whatever its rows; 0 when unknown).
  double expert_flops_per_s = 0.0;
  double expert_call_s = 0.0;
  // The per-row rate of one rank computing while the others wait (after they have finished their
  // own rows): ranks that compute at once share memory bandwidth, caches and, on a machine with
  // other work, cores. 0: the same as expert_flops_per_s.
  double expert_alone_flops_per_s = 0.0;
  double router_flops_per_s = 0.0;  // router GEMM + expert selection, as FLOPs of the GEMM
  double copy_Bps = 0.0;            // row bytes gathered per second (permute)
  // Row bytes summed, weighted, into their tokens' rows per second (unpermute and the destination's
  // reduce): each output row is read and written as well. 0: copy_Bps.
  double scatter_Bps = 0.0;
  std::string source;  // how the rates were obtained

  nlohmann::json to_json() const;
};

struct ClusterModel {
  std::string name;
  std::string origin;  // "measured" or "described"
  int ranks = 0;
  std::vector<int> node_of_rank;  // [ranks], nodes numbered 0..nodes-1
  LinkCost intra;                 // all2all among ranks of one node (self-sends included)
  LinkCost inter;                 // all2all across nodes, per rank (its share of the NICs)
  ComputeRates rates;
  nlohmann::json sources = nlohmann::json::array();  // described: every figure and its source

  int nodes() const;
  bool same_node(int a, int b) const { return node_of_rank[a] == node_of_rank[b]; }
  nlohmann::json to_json() const;
};

// From a measured profile. Intra-node: the fitted all2all (its bytes include the self part).
// Inter-node: the median latency and ping-pong bandwidth of pairs on different nodes, the bandwidth
// divided by the ranks of the busiest node (they share its links during an all2all).
ClusterModel cluster_model_from_profile(const ClusterProfile& profile, const ComputeRates& rates);

// A described cluster (schema "c2rbench.cluster-spec"); throws c2r::Error naming `source` and the
// field when it is malformed, incomplete or not physical, or has more than kMaxDescribedRanks
// ranks.
constexpr int kMaxDescribedRanks = 1 << 20;
ClusterModel parse_cluster_spec(const std::string& text, const std::string& source);

// Whether `text` is a described cluster (as opposed to a measured profile).
bool is_cluster_spec(const std::string& text);

}  // namespace c2r
