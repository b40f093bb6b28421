#include "cli/tune_validate.hpp"

#include <cmath>
#include <iostream>

#include "bench/layer_suite.hpp"
#include "cli/options.hpp"
#include "model/data_store.hpp"
#include "model/placement.hpp"
#include "results/stats.hpp"

namespace c2r {

namespace {

constexpr int kRandomPlacements = 3;

// The validation run: every tuned layer under the chosen routing and the tuned strategy, on the
// contiguous, round-robin, tuned, deliberately bad and random placements (plus the baseline),
// without ceilings.
RunConfig validation_config(const ValidationRequest& request, int ranks) {
  const TuneOptions& o = request.options;
  GridSpec grid;
  for (const auto& layer : request.layers) grid.layers.push_back(layer.layer);
  grid.routings = {request.choice.routing};
  if (request.choice.routing == RoutingMode::kC2R) grid.top_ts = {request.choice.top_t};
  grid.strategies = {&request.strategy};
  grid.placements = {"contiguous", "round-robin", "tuned", "worst"};
  for (int i = 1; i <= kRandomPlacements; ++i)
    grid.placements.push_back("random-" + std::to_string(i));
  RunConfig config =
      make_run_config(request.setup, grid, std::vector<int64_t>(ranks, o.workload.tokens));
  config.loops.warmup = o.warmup;
  config.loops.iterations = o.iters;
  config.order = parse_cell_order(o.order);
  config.ceilings = false;
  return config;
}

// The placements the suite cannot make by rule: per layer the tuned one, the worst the swap
// search finds (maximising the predicted time from contiguous) and seeded random ones.
void add_validation_placements(LayerSuite& suite, const ValidationRequest& request, int ranks) {
  const TuneOptions& o = request.options;
  const int experts = request.setup.model.experts;
  const CostModel tuned_model(request.cluster, request.setup.model, o.workload.tokens,
                              request.strategy, 1.0, o.workload.tokens * ranks);
  for (const auto& layer : request.layers) {
    const TunedRouting& r = layer.routings[request.choice.index];
    suite.add_placement("tuned", layer.layer, Placement("tuned", r.search.expert_rank, ranks));
    SearchOptions options;
    options.time_limit_s = o.search_seconds;
    const std::vector<int> worst =
        swap_search(tuned_model, r.sample, contiguous_placement(experts, ranks).expert_rank(), -1,
                    options, nullptr);
    suite.add_placement("worst", layer.layer, Placement("worst", worst, ranks));
    for (int i = 1; i <= kRandomPlacements; ++i) {
      const std::string name = "random-" + std::to_string(i);
      suite.add_placement(
          name, layer.layer,
          Placement(name, random_placement(experts, ranks, o.workload.seed * 7919 + i), ranks));
    }
  }
}

// The measured gain of a layer: its baseline, tuned and contiguous cells' exchange and layer time.
void record_gain(const Cell& cell, const PhaseTimes& measured, MeasuredGain& gain) {
  gain.layer = cell.layer;
  std::optional<double>* exchange = nullptr;
  std::optional<double>* layer = nullptr;
  if (cell.baseline) {
    exchange = &gain.baseline_dispatch_combine_us;
    layer = &gain.baseline_layer_us;
  } else if (cell.placement == "tuned") {
    exchange = &gain.tuned_dispatch_combine_us;
    layer = &gain.tuned_layer_us;
  } else if (cell.placement == "contiguous") {
    exchange = &gain.contiguous_dispatch_combine_us;
    layer = &gain.contiguous_layer_us;
  } else {
    return;
  }
  *exchange = measured.exchange_us();
  *layer = measured.at(Phase::kLayer);
}

}  // namespace

Validation validate_predictions(const ValidationRequest& request, const Communicator& comm) {
  const TuneOptions& o = request.options;
  const RunConfig config = validation_config(request, comm.size());
  DataStore data(comm, request.setup.data_dir);
  LayerSuite suite(config, comm, data);
  add_validation_placements(suite, request, comm.size());
  check_run_inputs(config, suite, data, comm.size());
  std::map<int, const TunedLayer*> by_layer;
  for (const auto& layer : request.layers) by_layer[layer.layer] = &layer;

  Validation v;
  v.iterations = config.loops.iterations;
  v.warmup = config.loops.warmup;
  std::vector<double> predicted_layer, measured_layer;
  std::map<std::string, double> abs_error;
  std::map<int, MeasuredGain> gains;
  // The cells interleaved round by round (unless --order sequential), as `run` does, so that
  // drift lands on every placement alike.
  const std::vector<CellResult> results = run_cells(
      comm, config.cells, [&suite](const Cell& cell) { return suite.start_cell(cell); },
      config.schedule(),
      [&](size_t i) {
        const Cell& cell = config.cells[i];
        return "validate layer " + std::to_string(cell.layer) + " " + to_string(cell.strategy) +
               " " + cell.placement;
      },
      comm.rank() == 0 && !o.process.quiet);
  for (size_t i = 0; i < config.cells.size(); ++i) {
    const Cell& cell = config.cells[i];
    const CellResult& result = results[i];
    const TunedLayer& layer = *by_layer.at(cell.layer);
    const TunedRouting& routing = cell.routing == RoutingMode::kVanilla
                                      ? layer.routings.front()
                                      : layer.routings[request.choice.index];
    const CostModel cost(request.cluster, request.setup.model, o.workload.tokens, *cell.strategy,
                         1.0, o.workload.tokens * comm.size());
    ValidationPoint point;
    point.predicted = phase_times(cost.predict(routing.sample, result.expert_rank));
    for (Phase phase : kReportedPhases) {
      const double p = point.predicted.at(phase);
      const double m = result.median_us(phase);
      point.measured.at(phase) = m;
      abs_error[phase_name(phase)] += m > 0 ? std::abs(p - m) / m : 0.0;
    }
    point.measured.remote_bytes = result.traffic.value().remote_bytes_total;
    point.measured.rank_imbalance = result.load.value().rank_imbalance;
    predicted_layer.push_back(point.predicted.at(Phase::kLayer));
    measured_layer.push_back(point.measured.at(Phase::kLayer));
    // The point is the cell the result names.
    point.layer = cell.layer;
    point.routing = result.routing;
    point.top_t = result.top_t;
    point.strategy = result.strategy;
    point.placement = result.placement;
    point.baseline = result.baseline;
    point.expert_rank = result.expert_rank;
    record_gain(cell, point.measured, gains[cell.layer]);
    v.points.push_back(point);
  }
  for (Phase phase : kReportedPhases) {
    v.mean_abs_error[phase_name(phase)] = abs_error[phase_name(phase)] / v.points.size();
  }
  for (const auto& [layer, gain] : gains) v.measured_gain.push_back(gain);
  v.spearman_layer = spearman(predicted_layer, measured_layer);
  v.met = v.spearman_layer >= v.spearman_min && v.mean_abs_error.at("layer") <= v.layer_mae_max;
  return v;
}

}  // namespace c2r
