#pragma once
// The tuner's cost model: (placement, routing statistics, strategy) -> rank x rank traffic ->
// predicted time of every phase of one MoE layer on a cluster.
//
//   dispatch, combine  max over ranks r of max(intra_r, inter_r), where for each link class
//                      class_r = latency + max(bytes r sends, bytes r receives) / bandwidth
//                      (self-sends travel the intra-node class), plus one latency for the counts
//                      all2all of the variable-size strategies.
//   expert             busiest rank's E/R experts x the fixed time of one expert's GEMMs
//                      + its rows x FLOPs per row / GEMM rate, where the rate is the shared one
//                      while other ranks still compute and the one of a rank alone after they
//                      have finished (+ the shared expert).
//   gate               tokens x 2 H E / router rate.
//   permute, unpermute busiest rank's gathered row bytes / copy rate, and its row bytes summed
//                      (weighted) into tokens / scatter rate.
//   layer              the sum: the critical path of one layer.
// Pipelined over N token chunks (run --overlap N), dispatch and combine are what the layer exposes:
// per link class, the latencies of N count and row exchanges, the intra-node transfer in full
// (shared memory: the CPUs copy it, no compute hides it), and of the inter-node transfer (moved by
// the NICs) the first and last chunk plus what the expert compute cannot cover; each expert pays
// its fixed GEMM cost once per chunk.
// docs/TUNING.md derives each term.

#include <cstdint>
#include <vector>

#include <nlohmann/json.hpp>

#include "collectives/strategy.hpp"
#include "model/collaboration.hpp"
#include "model/model_config.hpp"
#include "model/placement.hpp"
#include "tuner/cluster_model.hpp"

namespace c2r {

// Routing statistics: the experts chosen for a sample of tokens, in global token order. The cost
// model spreads the tokens over the ranks in equal contiguous blocks, as `run` does.
struct RoutingSample {
  int experts = 0;
  int top_k = 0;
  std::vector<int32_t> expert_ids;  // [tokens x top_k]

  int64_t tokens() const { return top_k > 0 ? static_cast<int64_t>(expert_ids.size()) / top_k : 0; }
  std::vector<int64_t> tokens_per_expert() const;  // [experts]
  CollaborationMatrix coactivation() const;
};

struct PhaseSeconds {
  double gate = 0, permute = 0, dispatch = 0, expert = 0, combine = 0, unpermute = 0;
  double layer() const { return gate + permute + dispatch + expert + combine + unpermute; }
  // {"gate_us", ..., "layer_us"}
  nlohmann::json to_json() const;
};

struct Prediction {
  PhaseSeconds time;
  double remote_bytes = 0.0;      // dispatch + combine bytes between different ranks, all ranks
  double rank_imbalance = 0.0;    // busiest rank's expert rows over the mean
  double dropped_fraction = 0.0;  // padded: (token, expert) pairs over capacity
  // What the search minimises: the layer time, plus 0.1% of the mean per-rank exchange and expert
  // time so that, among placements with the same critical path, less total work wins.
  double objective = 0.0;

  nlohmann::json to_json() const;
};

// Rows one placement puts on every rank, counted over the sample's tokens.
struct TrafficTally {
  // [ranks x 2]: rows a rank sends / receives in the dispatch, per link class (0: same node,
  // self included; 1: other nodes). The combine returns the same rows the other way.
  std::vector<double> send_rows, recv_rows;
  std::vector<double> expert_rows;  // [ranks] (token, expert) pairs each rank computes
  double remote_rows = 0.0;         // dispatch rows between different ranks

  explicit TrafficTally(int ranks = 0)
      : send_rows(2 * ranks, 0.0), recv_rows(2 * ranks, 0.0), expert_rows(ranks, 0.0) {}
};

class CostModel {
 public:
  static constexpr int kMaxTopK = 64;

  // Throws c2r::Error when the experts do not divide over the cluster's ranks or the sample has
  // fewer tokens than ranks.
  // `dtype`: the payload type of the exchanged rows, whose bytes travel
  // (kernels/cpu/row_codec.hpp).
  // `overlap`: token chunks the layer is pipelined over (1: the serial layer).
  CostModel(const ClusterModel& cluster, const ModelConfig& model, int64_t tokens_per_rank,
            const StrategyDescriptor& strategy, double capacity_factor, int64_t sample_tokens,
            PayloadType dtype = PayloadType::kFp32, int overlap = 1);
  PayloadType dtype() const { return dtype_; }
  int overlap() const { return overlap_; }
  // The same model with another pipeline degree.
  CostModel with_overlap(int overlap) const;

  const ClusterModel& cluster() const { return cluster_; }
  const ModelConfig& model() const { return model_; }
  const StrategyDescriptor& strategy() const { return *strategy_; }
  int ranks() const { return cluster_.ranks; }
  int64_t tokens_per_rank() const { return tokens_per_rank_; }
  // The rank whose block of the sample holds `token`.
  int source_rank(int64_t token) const { return static_cast<int>(token / tokens_per_source_); }

  Prediction predict(const RoutingSample& sample, const std::vector<int>& expert_rank) const;
  // Any placement, replicated ones included: each source block's pairs go to the slots `run`
  // routes them to (Placement::route_to_slots), and the exchange, the capacity and the expert
  // calls count slots as experts (E/R + replicas/R GEMMs per rank).
  Prediction predict(const RoutingSample& sample, const Placement& placement) const;

  // The same model for a sample of `sample_tokens` tokens (a subsample of this one's).
  CostModel for_sample(int64_t sample_tokens) const;

  // Adds (sign = +1) or removes (-1) one token's rows. Placement-sensitive strategies only.
  // experts: [top_k] the token's experts.
  void tally_token(TrafficTally& tally, int source, const int32_t* experts,
                   const std::vector<int>& expert_rank, double sign) const;
  // Adds `rows` dispatch rows from `source` to `destination` to the tally, in their link class.
  // Inline: the swap search calls it for every token of every trial.
  void tally_rows(TrafficTally& tally, int source, int destination, double rows) const {
    const int link = cluster_.same_node(source, destination) ? 0 : 1;
    tally.send_rows[2 * source + link] += rows;
    tally.recv_rows[2 * destination + link] += rows;
    if (source != destination) tally.remote_rows += rows;
  }
  // The prediction for a tally of the strategy's rows (dropped_fraction 0).
  Prediction evaluate(const TrafficTally& tally) const;

 private:
  // A capacity-limited strategy sends `capacity` rows per (source, expert) whatever the placement.
  Prediction predict_capacity_slots(const RoutingSample& sample) const;
  // The expert phase's row part on the busiest rank: rows computed while several ranks compute at
  // once go at the shared rate, those after the others have finished at the rate of one alone.
  // expert_rows: [ranks] at sample scale.
  double expert_phase_seconds(const std::vector<double>& expert_rows) const;
  // One exchange's time on each rank, per link class, split into latency and transfer.
  struct ExchangeParts {
    double latency[2] = {0, 0};   // per link class (0 intra, 1 inter); 0 when it carries nothing
    double transfer[2] = {0, 0};  // bytes / bandwidth
  };
  // Per-rank parts of one exchange given per-rank rows per link class (sample scale) and its row
  // bytes.
  std::vector<ExchangeParts> exchange_parts(const std::vector<double>& send_rows,
                                            const std::vector<double>& recv_rows,
                                            double row_bytes) const;
  // What a layer of overlap_ chunks exposes of one exchange on one rank: the serial time (latency
  // + transfer, classes in parallel) when overlap_ is 1. `uncovered_inter`: the rank's inter-node
  // transfer (both exchanges) that its expert compute cannot cover, charged to this exchange
  // in proportion to its share.
  double exposed_seconds(const ExchangeParts& parts, double uncovered_inter) const;

  ClusterModel cluster_;
  ModelConfig model_;   // experts: the slots the exchange sees (a replicated placement's)
  int router_experts_;  // the router's experts (logits per token), whatever the slots
  int64_t tokens_per_rank_;
  const StrategyDescriptor* strategy_;
  double capacity_factor_;
  PayloadType dtype_;
  int overlap_;
  int64_t tokens_per_source_;  // sample tokens in each rank's block
  double scale_;               // deployment tokens per sample token
};

}  // namespace c2r
