#include "tuner/tuning.hpp"

#include <algorithm>
#include <cmath>

#include "common/error.hpp"
#include "model/placement.hpp"
#include "results/stats.hpp"

namespace c2r {

using nlohmann::json;

namespace {

double exchange_seconds(const Prediction& p) {
  return p.time.dispatch + p.time.combine;
}

// The file's "top_t": C2R's T, none for vanilla.
std::optional<int> c2r_top_t(RoutingMode routing, int top_t) {
  if (routing != RoutingMode::kC2R) return std::nullopt;
  return top_t;
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
    choice.table.push_back({to_string(r.routing), c2r_top_t(r.routing, r.top_t), time * 1e6,
                            exchange * 1e6, remote, worst_imbalance,
                            worst_imbalance <= max_imbalance, false});
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
  for (size_t i = 0; i < count; ++i) choice.table[i].chosen = i == choice.index;
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
    choice.table.push_back({factor, worst_drop, mean_drop, time * 1e6, exchange * 1e6, ok, false});
  }
  if (!choice.within_limit) choice.factor = sorted.back();
  for (auto& row : choice.table) row.chosen = row.capacity_factor == choice.factor;
  return choice;
}

OverlapChoice choose_overlap(const std::vector<TunedLayer>& layers, size_t routing_index,
                             const CostModel& model, const std::vector<int>& degrees) {
  std::vector<int> sorted = degrees;
  std::sort(sorted.begin(), sorted.end());
  sorted.erase(std::unique(sorted.begin(), sorted.end()), sorted.end());
  C2R_CHECK(!sorted.empty() && sorted.front() >= 1, "pipeline degrees must be 1 or more");
  OverlapChoice choice;
  double best = 0.0;
  for (int n : sorted) {
    const CostModel pipelined = model.with_overlap(n);
    double time = 0, exchange = 0;
    for (const auto& layer : layers) {
      const TunedRouting& r = layer.routings[routing_index];
      const Prediction p = pipelined.predict(r.sample, r.search.expert_rank);
      time += p.time.layer();
      exchange += exchange_seconds(p);
    }
    if (choice.table.empty() || time < best) {
      best = time;
      choice.overlap = n;
    }
    choice.table.push_back({n, time * 1e6, exchange * 1e6, false});
  }
  for (auto& row : choice.table) row.chosen = row.overlap == choice.overlap;
  return choice;
}

EplbShape eplb_shape_of(const ClusterModel& cluster, int experts) {
  const int nodes = cluster.nodes();
  bool blocks = cluster.ranks % nodes == 0;
  for (int r = 0; r < cluster.ranks && blocks; ++r) {
    blocks = cluster.node_of_rank[r] == r / (cluster.ranks / nodes);
  }
  EplbShape shape;
  shape.ranks = cluster.ranks;
  shape.nodes = blocks ? nodes : 1;
  shape.groups = experts % shape.nodes == 0 ? shape.nodes : 1;
  return shape;
}

ReplicaChoice choose_replicas(const std::vector<TunedLayer>& layers, size_t routing_index,
                              const CostModel& model, const std::vector<int>& counts,
                              const EplbShape& eplb) {
  std::vector<int> sorted = counts;
  std::sort(sorted.begin(), sorted.end());
  sorted.erase(std::unique(sorted.begin(), sorted.end()), sorted.end());
  const ModelConfig& m = model.model();
  const int ranks = model.ranks();
  ReplicaChoice choice;
  double best = 0.0;
  for (int n : sorted) {
    EplbShape shape = eplb;
    shape.replicas = n;
    check_eplb_shape(m.experts, shape);
    ReplicaRow row;
    row.replicas = n;
    row.weight_bytes_per_rank = static_cast<double>(n) / ranks * 3.0 * m.hidden * m.ffn * 4.0;
    std::vector<ReplicatedLayer> placed;
    for (const auto& layer : layers) {
      const TunedRouting& r = layer.routings[routing_index];
      ReplicatedLayer best_layer{"tuned", {}, model.predict(r.sample, r.search.expert_rank)};
      if (n > 0) {
        const std::vector<int64_t> counted = r.sample.tokens_per_expert();
        const std::vector<double> loads(counted.begin(), counted.end());
        const Placement tuned("tuned", r.search.expert_rank, ranks);
        const Placement candidates[] = {eplb_placement(loads, shape, "eplb"),
                                        add_replicas(tuned, loads, n, "tuned+replicas")};
        best_layer.method.clear();
        for (const Placement& p : candidates) {
          const Prediction predicted = model.predict(r.sample, p);
          if (best_layer.method.empty() || predicted.objective < best_layer.prediction.objective) {
            best_layer = {p.name(), p.rank_experts(), predicted};
          }
        }
        row.eplb_layers += best_layer.method == "eplb";
      }
      row.layer_us += best_layer.prediction.time.layer() * 1e6;
      row.dispatch_combine_us += exchange_seconds(best_layer.prediction) * 1e6;
      row.remote_bytes += best_layer.prediction.remote_bytes;
      row.max_rank_imbalance =
          std::max(row.max_rank_imbalance, best_layer.prediction.rank_imbalance);
      placed.push_back(std::move(best_layer));
    }
    if (choice.table.empty() || row.layer_us < best * (1.0 - kReplicaMinGain)) {
      best = row.layer_us;
      choice.replicas = n;
      choice.layers = n > 0 ? std::move(placed) : std::vector<ReplicatedLayer>{};
    }
    choice.table.push_back(row);
  }
  for (auto& row : choice.table) row.chosen = row.replicas == choice.replicas;
  return choice;
}

PhaseTimes phase_times(const Prediction& p) {
  PhaseTimes t;
  t.at(Phase::kGate) = p.time.gate * 1e6;
  t.at(Phase::kPermute) = p.time.permute * 1e6;
  t.at(Phase::kDispatch) = p.time.dispatch * 1e6;
  t.at(Phase::kExpert) = p.time.expert * 1e6;
  t.at(Phase::kCombine) = p.time.combine * 1e6;
  t.at(Phase::kUnpermute) = p.time.unpermute * 1e6;
  t.at(Phase::kLayer) = p.time.layer() * 1e6;
  t.remote_bytes = p.remote_bytes;
  t.rank_imbalance = p.rank_imbalance;
  t.dropped_fraction = p.dropped_fraction;
  return t;
}

void score_validation(Validation& v) {
  v.mean_abs_error.clear();
  v.error_points.clear();
  for (Phase phase : kReportedPhases) {
    double sum = 0.0;
    int count = 0;
    for (const ValidationPoint& p : v.points) {
      const double measured = p.measured.at(phase);
      if (!(measured > 0.0)) continue;  // no relative error (also skips a NaN)
      sum += std::abs(p.predicted.at(phase) - measured) / measured;
      ++count;
    }
    v.mean_abs_error[phase_name(phase)] = count > 0 ? sum / count : kNoNumber;
    v.error_points[phase_name(phase)] = count;
  }
  std::vector<double> predicted, measured;
  for (const ValidationPoint& p : v.points) {
    if (!(p.measured.at(Phase::kLayer) > 0.0)) continue;
    predicted.push_back(p.predicted.at(Phase::kLayer));
    measured.push_back(p.measured.at(Phase::kLayer));
  }
  v.spearman_layer = predicted.empty() ? 0.0 : spearman(predicted, measured);
  const double layer_error = v.mean_abs_error.at(phase_name(Phase::kLayer));
  v.met =
      !predicted.empty() && v.spearman_layer >= v.spearman_min && layer_error <= v.layer_mae_max;
}

Tuning make_tuning(const TuneRequestEcho& request, const ModelConfig& model,
                   const WorkloadSpec& workload, const ClusterModel& cluster, const json& profile,
                   const std::vector<TunedLayer>& layers, const TopTChoice& choice,
                   const CapacityChoice& capacity, const OverlapChoice& overlap,
                   const ReplicaChoice& replicas) {
  Tuning t;
  t.model = model.to_json();
  t.model_preset = model.preset;
  t.top_k = model.top_k;
  t.experts = model.experts;
  t.ranks = cluster.ranks;
  t.tokens_per_rank = request.tokens_per_rank;
  t.workload = workload.to_json();
  t.strategy = request.strategy;
  t.routing = to_string(choice.routing);
  t.top_t = c2r_top_t(choice.routing, choice.top_t);
  t.top_t_within_limit = choice.within_limit;
  t.capacity_factor = capacity.factor;
  t.capacity_within_limit = capacity.within_limit;
  t.overlap = overlap.overlap;
  t.replicas = replicas.replicas;
  t.replica_table = replicas.table;
  t.max_imbalance = request.max_imbalance;
  t.max_drop = request.max_drop;
  t.cluster = {cluster.name,
               cluster.origin,
               cluster.ranks,
               cluster.nodes(),
               cluster.node_of_rank,
               {cluster.intra.latency_s * 1e6, cluster.intra.bandwidth_Bps / 1e9},
               {cluster.inter.latency_s * 1e6, cluster.inter.bandwidth_Bps / 1e9},
               cluster.rates.expert_flops_per_s / 1e9,
               cluster.rates.router_flops_per_s / 1e9,
               cluster.rates.copy_Bps / 1e9,
               cluster.rates.source,
               cluster.sources,
               std::nullopt,
               std::nullopt,
               std::nullopt};
  t.cluster.expert_call_us = cluster.rates.expert_call_s * 1e6;
  if (cluster.rates.scatter_Bps > 0) t.cluster.scatter_GBps = cluster.rates.scatter_Bps / 1e9;
  if (cluster.rates.expert_alone_flops_per_s > 0) {
    t.cluster.expert_alone_gflops = cluster.rates.expert_alone_flops_per_s / 1e9;
  }
  t.profile = profile;
  double base = 0, contiguous = 0, tuned = 0, base_x = 0, contiguous_x = 0, tuned_x = 0;
  for (size_t i = 0; i < layers.size(); ++i) {
    const TunedLayer& layer = layers[i];
    const TunedRouting& r = layer.routings[choice.index];
    // What `run --placement` uses: the replicated placement when redundant experts were chosen.
    const Prediction& tuned_prediction =
        replicas.layers.empty() ? r.search.prediction : replicas.layers[i].prediction;
    TuningLayer entry;
    entry.layer = layer.layer;
    entry.expert_rank = r.search.expert_rank;
    entry.method = r.search.method;
    entry.candidates = r.search.candidates;
    entry.search_ms = r.search_s * 1e3;
    if (r.search.method != "exhaustive") entry.seed_objective_us = r.search.seed_objective * 1e6;
    entry.baseline = phase_times(layer.baseline);
    entry.contiguous = phase_times(r.contiguous);
    entry.tuned = phase_times(tuned_prediction);
    if (!replicas.layers.empty()) {
      entry.rank_experts = replicas.layers[i].rank_experts;
      entry.replica_method = replicas.layers[i].method;
    }
    for (const auto& other : layer.routings) {
      entry.routings.push_back({to_string(other.routing), c2r_top_t(other.routing, other.top_t),
                                other.search.expert_rank, other.search.method,
                                phase_times(other.search.prediction),
                                phase_times(other.contiguous)});
    }
    t.layers.push_back(entry);
    base += layer.baseline.time.layer();
    contiguous += r.contiguous.time.layer();
    tuned += tuned_prediction.time.layer();
    base_x += exchange_seconds(layer.baseline);
    contiguous_x += exchange_seconds(r.contiguous);
    tuned_x += exchange_seconds(tuned_prediction);
  }
  t.top_t_table = choice.table;
  t.capacity_table = capacity.table;
  t.overlap_table = overlap.table;
  t.summary = {static_cast<int>(layers.size()),
               base * 1e6,
               contiguous * 1e6,
               tuned * 1e6,
               base_x * 1e6,
               contiguous_x * 1e6,
               tuned_x * 1e6,
               tuned > 0 ? base / tuned : 0.0,
               tuned > 0 ? contiguous / tuned : 0.0};
  return t;
}

}  // namespace c2r
