#pragma once
// What `c2rbench tune` decides and writes: per layer and routing the searched placement and its
// predictions; the model-wide Top-T and capacity-factor choices with their trade-off tables; the
// tuning file (schema "c2rbench.tuning") and its printed summary.

#include <vector>

#include <nlohmann/json.hpp>

#include "kernels/cpu/gating.hpp"
#include "model/workload.hpp"
#include "results/tuning_file.hpp"
#include "tuner/eplb.hpp"
#include "tuner/search.hpp"

namespace c2r {

// One routing (vanilla, or C2R at one Top-T) of one layer.
struct TunedRouting {
  RoutingMode routing = RoutingMode::kVanilla;
  int top_t = 0;  // 0 for vanilla
  RoutingSample sample;
  SearchResult search;    // the tuned placement and its prediction
  Prediction contiguous;  // same routing and strategy on the contiguous placement
  double search_s = 0.0;
};

struct TunedLayer {
  int layer = 0;
  Prediction baseline;                 // vanilla, dropless, contiguous
  std::vector<TunedRouting> routings;  // [0] is vanilla, then C2R by ascending Top-T
};

struct TopTChoice {
  size_t index = 0;  // into TunedLayer::routings
  RoutingMode routing = RoutingMode::kVanilla;
  int top_t = 0;
  bool within_limit = true;    // false: no candidate met --max-imbalance; the most balanced is kept
  std::vector<TopTRow> table;  // one per routing: model totals and the worst layer's imbalance
};

// The C2R Top-T with the lowest predicted model time (sum over layers) among those whose every
// layer's predicted rank imbalance is at most `max_imbalance`. With only vanilla, vanilla.
TopTChoice choose_top_t(const std::vector<TunedLayer>& layers, double max_imbalance);

struct CapacityChoice {
  double factor = 0.0;
  bool within_limit = true;        // false: no factor met --max-drop; the largest is kept
  std::vector<CapacityRow> table;  // one per factor: dropped fractions and predicted padded time
};

// The smallest capacity factor whose padded exchange drops at most `max_drop` of the pairs of
// every layer, under the chosen routing and the tuned placements.
CapacityChoice choose_capacity(const std::vector<TunedLayer>& layers, size_t routing_index,
                               const ClusterModel& cluster, const ModelConfig& model,
                               int64_t tokens_per_rank, int64_t sample_tokens,
                               const std::vector<double>& factors, double max_drop);

struct OverlapChoice {
  int overlap = 1;
  std::vector<OverlapRow> table;  // one per degree weighed, ascending
};

// The pipeline degree (run --overlap) with the lowest predicted model time, under the chosen
// routing and the tuned placements, among `degrees` (the smallest on a tie: fewer chunks, fewer
// latencies). `model`: the tuned strategy's cost model (its overlap is replaced).
OverlapChoice choose_overlap(const std::vector<TunedLayer>& layers, size_t routing_index,
                             const CostModel& model, const std::vector<int>& degrees);

// The EPLB shape of a cluster (no replicas): its nodes when they hold equal blocks of consecutive
// ranks, else one node; one expert group per node when the experts divide over the nodes.
EplbShape eplb_shape_of(const ClusterModel& cluster, int experts);

// One layer's replicated placement under the chosen routing.
struct ReplicatedLayer {
  std::string method;                          // "eplb" or "tuned+replicas"
  std::vector<std::vector<int>> rank_experts;  // [R][slots per rank]
  Prediction prediction;
};

struct ReplicaChoice {
  int replicas = 0;
  std::vector<ReplicatedLayer> layers;  // [layers] for the chosen count; empty when 0
  std::vector<ReplicaRow> table;        // one per count weighed, ascending
};

// A larger count of redundant experts is chosen only when it lowers the predicted model time by
// at least this fraction against the best smaller count: replicas cost memory (weights on every
// rank that holds one) that a tie does not pay for.
constexpr double kReplicaMinGain = 0.01;

// Redundant experts (tune --replicas): for each count N (E + N dividing over the ranks) and each
// layer, the better predicted of EPLB (eplb_placement from the chosen routing's sampled loads,
// hierarchical over `eplb`'s nodes and groups) and the tuned co-located placement plus N replicas
// (add_replicas); then the count with the lowest predicted model time, a larger one only when it
// gains kReplicaMinGain. N = 0 is the tuned placements as they are. `model`: the tuned strategy's
// cost model at the chosen pipeline degree.
ReplicaChoice choose_replicas(const std::vector<TunedLayer>& layers, size_t routing_index,
                              const CostModel& model, const std::vector<int>& counts,
                              const EplbShape& eplb);

// The tuner's prediction as the tuning file holds it.
PhaseTimes phase_times(const Prediction& prediction);

// Fills the validation's figures from its points: per reported phase the mean of |pred - meas| /
// meas over the points whose phase was measured above 0 (and how many those are), Spearman's rank
// correlation of the layer time over the points whose layer was measured above 0, and whether the
// targets are met (they are not when no point was measured).
void score_validation(Validation& validation);

// The tuning file, without the "created", "validation" and timing fields the command adds.
struct TuneRequestEcho {
  int64_t tokens_per_rank = 0;
  std::string strategy;
  double max_imbalance = 0, max_drop = 0;
};
Tuning make_tuning(const TuneRequestEcho& request, const ModelConfig& model,
                   const WorkloadSpec& workload, const ClusterModel& cluster,
                   const nlohmann::json& profile, const std::vector<TunedLayer>& layers,
                   const TopTChoice& choice, const CapacityChoice& capacity,
                   const OverlapChoice& overlap, const ReplicaChoice& replicas);

}  // namespace c2r
