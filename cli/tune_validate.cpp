#include "cli/tune_validate.hpp"

#include <algorithm>
#include <cmath>
#include <iostream>
#include <numeric>

#include "bench/layer_suite.hpp"
#include "cli/options.hpp"
#include "common/error.hpp"
#include "model/data_store.hpp"
#include "model/placement.hpp"
#include "results/stats.hpp"

namespace c2r {

namespace {

constexpr int kRandomPlacements = 3;

// The validation run as validate_predictions makes it, from the request's layers and chosen
// routing.
RunConfig validation_config(const ValidationRequest& request, int ranks) {
  std::vector<int> layers;
  for (const auto& layer : request.layers) layers.push_back(layer.layer);
  return validation_config(request.options, request.setup, request.strategy, layers,
                           request.choice.routing, request.choice.top_t, ranks,
                           request.replicas.replicas);
}

// The placements the suite cannot make by rule: per layer the tuned one, the worst the swap
// search finds (maximising the predicted time from contiguous: the model's own idea of bad, so
// the seeded random ones are there to judge it on placements it did not pick) and seeded random
// balanced ones (Placement refuses any that is not balanced).
void add_validation_placements(LayerSuite& suite, const ValidationRequest& request, int ranks) {
  const TuneOptions& o = request.options;
  const int experts = request.setup.model.experts;
  const CostModel tuned_model(request.cluster, request.setup.model, o.workload.tokens,
                              request.strategy, 1.0, o.workload.tokens * ranks,
                              parse_payload_type(o.dtype));
  for (size_t i = 0; i < request.layers.size(); ++i) {
    const TunedLayer& layer = request.layers[i];
    const TunedRouting& r = layer.routings[request.choice.index];
    // The placement the tuning file gives `run`: replicated when redundant experts were chosen.
    const std::vector<ReplicatedLayer>& replicated = request.replicas.layers;
    suite.add_placement("tuned", layer.layer,
                        replicated.empty()
                            ? Placement("tuned", r.search.expert_rank, ranks)
                            : Placement("tuned", replicated[i].rank_experts, experts));
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
// The serial layer's cells only: the gains are the placement's.
void record_gain(const Cell& cell, const PhaseTimes& measured, MeasuredGain& gain) {
  gain.layer = cell.layer;
  if (cell.overlap != 1) return;
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

// Busiest rank's expert rows over the mean, from the rows every rank computed (padded: its
// capacity slots, padding included); NaN ("-" in the tables) when the result lacks them.
double measured_rank_imbalance(const Load& load) {
  const std::vector<int64_t>& rows = load.rows_computed_per_rank;
  if (rows.empty()) return kNoNumber;
  const double total = static_cast<double>(std::accumulate(rows.begin(), rows.end(), int64_t{0}));
  const double busiest = static_cast<double>(*std::max_element(rows.begin(), rows.end()));
  return total > 0 ? busiest / (total / rows.size()) : 0.0;
}

}  // namespace

// The cells come from the workload that was tuned for (`setup`: every workload option,
// --hot-experts included).
RunConfig validation_config(const TuneOptions& o, const WorkloadSetup& setup,
                            const StrategyDescriptor& strategy, const std::vector<int>& layers,
                            RoutingMode routing, int top_t, int ranks, int replicas) {
  GridSpec grid;
  grid.layers = layers;
  grid.routings = {routing};
  if (routing == RoutingMode::kC2R) grid.top_ts = {top_t};
  grid.strategies = {&strategy};
  grid.placements = {"contiguous", "round-robin", "collab", "tuned", "worst"};
  if (replicas > 0) grid.placements.push_back("eplb");
  grid.dtypes = {parse_payload_type(o.dtype)};
  // Every degree weighed, and the serial layer, whose cells measure the placements' gains.
  grid.overlaps = o.overlap;
  if (std::find(grid.overlaps.begin(), grid.overlaps.end(), 1) == grid.overlaps.end()) {
    grid.overlaps.insert(grid.overlaps.begin(), 1);
  }
  for (int i = 1; i <= kRandomPlacements; ++i)
    grid.placements.push_back("random-" + std::to_string(i));
  RunConfig config = make_run_config(setup, grid, std::vector<int64_t>(ranks, o.workload.tokens));
  config.loops.warmup = o.warmup;
  config.loops.iterations = o.iters;
  config.order = parse_cell_order(o.order);
  config.ceilings = false;
  config.replicas = replicas;
  return config;
}

ValidationPoint validation_point(const ValidationRequest& request, const Cell& cell,
                                 const CellResult& result, int ranks) {
  const TuneOptions& o = request.options;
  const TunedLayer* layer = nullptr;
  for (const auto& tuned : request.layers) {
    if (tuned.layer == cell.layer) layer = &tuned;
  }
  C2R_CHECK(layer != nullptr, "validation cell of layer " << cell.layer << " was not tuned");
  const TunedRouting& routing = cell.routing == RoutingMode::kVanilla
                                    ? layer->routings.front()
                                    : layer->routings[request.choice.index];
  const CostModel cost(request.cluster, request.setup.model, o.workload.tokens, *cell.strategy, 1.0,
                       o.workload.tokens * ranks, cell.dtype, cell.overlap);
  ValidationPoint point;
  // The point is the cell the result names, predicted on the placement it ran.
  point.layer = cell.layer;
  point.routing = result.routing;
  point.top_t = result.top_t;
  point.strategy = result.strategy;
  point.placement = result.placement;
  point.overlap = result.overlap;
  point.baseline = result.baseline;
  point.expert_rank = result.expert_rank;
  point.rank_experts = result.rank_experts;
  point.predicted = phase_times(
      result.rank_experts.empty()
          ? cost.predict(routing.sample, result.expert_rank)
          : cost.predict(routing.sample, Placement(result.placement, result.rank_experts,
                                                   request.setup.model.experts)));
  for (Phase phase : kReportedPhases) point.measured.at(phase) = result.median_us(phase);
  point.measured.remote_bytes =
      result.traffic ? static_cast<double>(result.traffic->remote_bytes_total) : kNoNumber;
  point.measured.rank_imbalance = result.load ? measured_rank_imbalance(*result.load) : kNoNumber;
  return point;
}

Validation validate_predictions(const ValidationRequest& request, DataStore& data,
                                const Communicator& comm) {
  const TuneOptions& o = request.options;
  const RunConfig config = validation_config(request, comm.size());
  LayerSuite suite(config, comm, data);
  add_validation_placements(suite, request, comm.size());
  check_run_inputs(config, suite, data, comm.size());

  Validation v;
  v.iterations = config.loops.iterations;
  v.warmup = config.loops.warmup;
  // Each cell's median over its iterations, and the iterations are rounds over every cell in a
  // seeded shuffled order (unless --order sequential), as in `run`: a busy machine's load drifts
  // over seconds, so cells run one after another would each see another load, and their order
  // would be the drift's.
  v.rounds = config.order == CellOrder::kInterleaved ? config.loops.iterations : 0;
  const std::vector<CellResult> results = run_cells(
      comm, config.cells, [&suite](const Cell& cell) { return suite.start_cell(cell); },
      config.schedule(),
      [&](size_t i) {
        const Cell& cell = config.cells[i];
        return "validate layer " + std::to_string(cell.layer) + " " + to_string(cell.strategy) +
               " " + cell.placement;
      },
      comm.rank() == 0 && !o.process.quiet);
  std::map<int, MeasuredGain> gains;
  for (size_t i = 0; i < config.cells.size(); ++i) {
    v.points.push_back(validation_point(request, config.cells[i], results[i], comm.size()));
    record_gain(config.cells[i], v.points.back().measured, gains[config.cells[i].layer]);
  }
  for (const auto& [layer, gain] : gains) v.measured_gain.push_back(gain);
  score_validation(v);
  return v;
}

}  // namespace c2r
