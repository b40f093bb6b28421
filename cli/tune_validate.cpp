#include "cli/tune_validate.hpp"

#include <cmath>
#include <iostream>

#include "bench/layer_suite.hpp"
#include "cli/options.hpp"
#include "model/data_store.hpp"
#include "model/placement.hpp"
#include "results/stats.hpp"

namespace c2r {

using nlohmann::json;

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
void record_gain(const Cell& cell, const json& measured, json& gain) {
  const double exchange =
      measured["dispatch_us"].get<double>() + measured["combine_us"].get<double>();
  gain["layer"] = cell.layer;
  const std::string which = cell.baseline                    ? "baseline"
                            : cell.placement == "tuned"      ? "tuned"
                            : cell.placement == "contiguous" ? "contiguous"
                                                             : "";
  if (which.empty()) return;
  gain[which + "_dispatch_combine_us"] = exchange;
  gain[which + "_layer_us"] = measured["layer_us"];
}

}  // namespace

json validate_predictions(const ValidationRequest& request, const Communicator& comm) {
  const TuneOptions& o = request.options;
  const RunConfig config = validation_config(request, comm.size());
  DataStore data(comm, request.setup.data_dir);
  LayerSuite suite(config, comm, data);
  add_validation_placements(suite, request, comm.size());
  check_run_inputs(config, suite, data, comm.size());
  std::map<int, const TunedLayer*> by_layer;
  for (const auto& layer : request.layers) by_layer[layer.layer] = &layer;

  json points = json::array();
  std::vector<double> predicted_layer, measured_layer;
  std::map<std::string, double> abs_error;
  std::map<int, json> gains;
  for (size_t i = 0; i < config.cells.size(); ++i) {
    const Cell& cell = config.cells[i];
    if (comm.rank() == 0 && !o.process.quiet) {
      std::cerr << "[validate " << i + 1 << "/" << config.cells.size() << "] layer " << cell.layer
                << " " << to_string(cell.strategy) << " " << cell.placement << std::endl;
    }
    const CellResult result = suite.run_cell(cell);
    const TunedLayer& layer = *by_layer.at(cell.layer);
    const TunedRouting& routing = cell.routing == RoutingMode::kVanilla
                                      ? layer.routings.front()
                                      : layer.routings[request.choice.index];
    const CostModel cost(request.cluster, request.setup.model, o.workload.tokens, *cell.strategy,
                         1.0, o.workload.tokens * comm.size());
    const json predicted = cost.predict(routing.sample, result.expert_rank).to_json();
    json measured;
    for (Phase phase : kReportedPhases) {
      const std::string name = phase_name(phase);
      const double p = predicted[name + "_us"];
      const double m = result.median_us(phase);
      measured[name + "_us"] = m;
      abs_error[name] += m > 0 ? std::abs(p - m) / m : 0.0;
    }
    measured["remote_bytes"] = result.traffic.value().remote_bytes_total;
    measured["rank_imbalance"] = result.load.value().rank_imbalance;
    predicted_layer.push_back(predicted["layer_us"]);
    measured_layer.push_back(measured["layer_us"]);
    points.push_back({{"layer", cell.layer},
                      {"routing", to_string(cell.routing)},
                      {"top_t", cell.routing == RoutingMode::kC2R ? json(cell.top_t) : json()},
                      {"strategy", to_string(cell.strategy)},
                      {"placement", cell.placement},
                      {"baseline", cell.baseline},
                      {"expert_rank", result.expert_rank},
                      {"predicted", predicted},
                      {"measured", measured}});
    record_gain(cell, measured, gains[cell.layer]);
  }
  json mae;
  for (Phase phase : kReportedPhases) {
    mae[phase_name(phase)] = abs_error[phase_name(phase)] / points.size();
  }
  json measured_gain = json::array();
  for (const auto& [layer, gain] : gains) measured_gain.push_back(gain);
  const double rho = spearman(predicted_layer, measured_layer);
  return {{"iterations", config.loops.iterations},
          {"warmup", config.loops.warmup},
          {"points", points},
          {"spearman_layer", rho},
          {"mean_abs_error", mae},
          {"measured_gain", measured_gain},
          {"targets",
           {{"spearman_min", 0.8},
            {"layer_mae_max", 0.2},
            {"met", rho >= 0.8 && mae["layer"].get<double>() <= 0.2}}}};
}

}  // namespace c2r
