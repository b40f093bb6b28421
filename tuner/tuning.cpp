#include "tuner/tuning.hpp"

#include <algorithm>

#include "common/error.hpp"
#include "model/placement.hpp"

namespace c2r {

using nlohmann::json;

namespace {

double exchange_seconds(const Prediction& p) {
  return p.time.dispatch + p.time.combine;
}

}  // namespace

TopTChoice choose_top_t(const std::vector<TunedLayer>& layers, double max_imbalance) {
  C2R_CHECK(!layers.empty(), "nothing was tuned");
  TopTChoice choice;
  const size_t count = layers.front().routings.size();
  double best_time = INFINITY, best_imbalance = INFINITY;
  size_t best = 0, most_balanced = 0;
  for (size_t i = 0; i < count; ++i) {
    double time = 0, exchange = 0, remote = 0, worst_imbalance = 0;
    for (const auto& layer : layers) {
      const Prediction& p = layer.routings[i].search.prediction;
      time += p.time.layer();
      exchange += exchange_seconds(p);
      remote += p.remote_bytes;
      worst_imbalance = std::max(worst_imbalance, p.rank_imbalance);
    }
    const TunedRouting& r = layers.front().routings[i];
    choice.table.push_back({{"routing", to_string(r.routing)},
                            {"top_t", r.routing == RoutingMode::kC2R ? json(r.top_t) : json()},
                            {"layer_us", time * 1e6},
                            {"dispatch_combine_us", exchange * 1e6},
                            {"remote_bytes", remote},
                            {"max_rank_imbalance", worst_imbalance},
                            {"within_limit", worst_imbalance <= max_imbalance}});
    // Vanilla is the comparison row; it is chosen only when it is the only candidate.
    const bool candidate = r.routing == RoutingMode::kC2R || count == 1;
    if (!candidate) continue;
    if (worst_imbalance <= max_imbalance && time < best_time) {
      best_time = time;
      best = i;
    }
    if (worst_imbalance < best_imbalance) {
      best_imbalance = worst_imbalance;
      most_balanced = i;
    }
  }
  choice.within_limit = best_time < INFINITY;
  choice.index = choice.within_limit ? best : most_balanced;
  choice.routing = layers.front().routings[choice.index].routing;
  choice.top_t = layers.front().routings[choice.index].top_t;
  for (size_t i = 0; i < count; ++i) choice.table[i]["chosen"] = i == choice.index;
  return choice;
}

CapacityChoice choose_capacity(const std::vector<TunedLayer>& layers, size_t routing_index,
                               const ClusterModel& cluster, const ModelConfig& model,
                               int64_t tokens_per_rank, int64_t sample_tokens,
                               const std::vector<double>& factors, double max_drop) {
  std::vector<double> sorted = factors;
  std::sort(sorted.begin(), sorted.end());
  sorted.erase(std::unique(sorted.begin(), sorted.end()), sorted.end());
  CapacityChoice choice;
  choice.within_limit = false;
  for (double factor : sorted) {
    const CostModel padded(cluster, model, tokens_per_rank, capacity_strategy(), factor,
                           sample_tokens);
    double worst_drop = 0, mean_drop = 0, time = 0, exchange = 0;
    for (const auto& layer : layers) {
      const TunedRouting& r = layer.routings[routing_index];
      const Prediction p = padded.predict(r.sample, r.search.expert_rank);
      worst_drop = std::max(worst_drop, p.dropped_fraction);
      mean_drop += p.dropped_fraction / layers.size();
      time += p.time.layer();
      exchange += exchange_seconds(p);
    }
    const bool ok = worst_drop <= max_drop;
    if (ok && !choice.within_limit) {
      choice.within_limit = true;
      choice.factor = factor;
    }
    choice.table.push_back({{"capacity_factor", factor},
                            {"max_dropped_fraction", worst_drop},
                            {"mean_dropped_fraction", mean_drop},
                            {"layer_us", time * 1e6},
                            {"dispatch_combine_us", exchange * 1e6},
                            {"within_limit", ok}});
  }
  if (!choice.within_limit) choice.factor = sorted.back();
  for (auto& row : choice.table) row["chosen"] = row["capacity_factor"] == choice.factor;
  return choice;
}

json tuning_json(const TuneRequestEcho& request, const ModelConfig& model,
                 const WorkloadSpec& workload, const ClusterModel& cluster, const json& profile,
                 const std::vector<TunedLayer>& layers, const TopTChoice& choice,
                 const CapacityChoice& capacity) {
  json j_layers = json::array();
  double base = 0, contiguous = 0, tuned = 0, base_x = 0, contiguous_x = 0, tuned_x = 0;
  for (const auto& layer : layers) {
    const TunedRouting& r = layer.routings[choice.index];
    json routings = json::array();
    for (const auto& other : layer.routings) {
      routings.push_back(
          {{"routing", to_string(other.routing)},
           {"top_t", other.routing == RoutingMode::kC2R ? json(other.top_t) : json()},
           {"expert_rank", other.search.expert_rank},
           {"method", other.search.method},
           {"tuned", other.search.prediction.to_json()},
           {"contiguous", other.contiguous.to_json()}});
    }
    json entry = {{"layer", layer.layer},
                  {"expert_rank", r.search.expert_rank},
                  {"method", r.search.method},
                  {"candidates", r.search.candidates},
                  {"search_ms", r.search_s * 1e3},
                  {"predicted",
                   {{"baseline", layer.baseline.to_json()},
                    {"contiguous", r.contiguous.to_json()},
                    {"tuned", r.search.prediction.to_json()}}},
                  {"routings", routings}};
    if (r.search.method != "exhaustive") entry["seed_objective_us"] = r.search.seed_objective * 1e6;
    j_layers.push_back(entry);
    base += layer.baseline.time.layer();
    contiguous += r.contiguous.time.layer();
    tuned += r.search.prediction.time.layer();
    base_x += exchange_seconds(layer.baseline);
    contiguous_x += exchange_seconds(r.contiguous);
    tuned_x += exchange_seconds(r.search.prediction);
  }
  return {{"schema", "c2rbench.tuning"},
          {"schema_version", 1},
          {"model", model.to_json()},
          {"experts", model.experts},
          {"ranks", cluster.ranks},
          {"tokens_per_rank", request.tokens_per_rank},
          {"workload", workload.to_json()},
          {"strategy", request.strategy},
          {"routing", to_string(choice.routing)},
          {"top_t", choice.routing == RoutingMode::kC2R ? json(choice.top_t) : json()},
          {"top_t_within_limit", choice.within_limit},
          {"capacity_factor", capacity.factor},
          {"capacity_within_limit", capacity.within_limit},
          {"limits", {{"max_imbalance", request.max_imbalance}, {"max_drop", request.max_drop}}},
          {"cluster", cluster.to_json()},
          {"profile", profile},
          {"layers", j_layers},
          {"top_t_table", choice.table},
          {"capacity_table", capacity.table},
          {"summary",
           {{"layers", layers.size()},
            {"baseline_layer_us", base * 1e6},
            {"contiguous_layer_us", contiguous * 1e6},
            {"tuned_layer_us", tuned * 1e6},
            {"baseline_dispatch_combine_us", base_x * 1e6},
            {"contiguous_dispatch_combine_us", contiguous_x * 1e6},
            {"tuned_dispatch_combine_us", tuned_x * 1e6},
            {"predicted_speedup_vs_baseline", tuned > 0 ? base / tuned : 0.0},
            {"predicted_speedup_vs_contiguous", tuned > 0 ? contiguous / tuned : 0.0}}}};
}

}  // namespace c2r
