#pragma once
// What `c2rbench tune` decides and writes: per layer and routing the searched placement and its
// predictions; the model-wide Top-T and capacity-factor choices with their trade-off tables; the
// tuning file (schema "c2rbench.tuning") and its printed summary.

#include <vector>

#include <nlohmann/json.hpp>

#include "kernels/cpu/gating.hpp"
#include "model/workload.hpp"
#include "results/tuning_file.hpp"
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
                   const OverlapChoice& overlap);

}  // namespace c2r
