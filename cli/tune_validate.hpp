#pragma once
// `tune --validate`: runs real layers on this job's ranks for several placements of every tuned
// layer (contiguous, round-robin, collaboration-aware, three seeded random balanced ones, the
// tuned one and a deliberately bad one found by maximising the predicted time, plus the baseline)
// and sets the cost model's predictions against the measurements: per phase, with Spearman's rank
// correlation of the layer time and the mean absolute error of every phase.

#include <string>
#include <vector>

#include "bench/run_config.hpp"
#include "cli/tune_command.hpp"
#include "common/communicator.hpp"
#include "model/data_store.hpp"
#include "results/cell_result.hpp"
#include "tuner/tuning.hpp"

namespace c2r {

struct ValidationRequest {
  const TuneOptions& options;
  const WorkloadSetup& setup;  // the model, workload and data that were tuned for
  const StrategyDescriptor& strategy;
  const std::vector<TunedLayer>& layers;
  const TopTChoice& choice;
  const ReplicaChoice& replicas;
  const ClusterModel& cluster;
};

// The validation run: every layer of `layers` under `routing` (at `top_t` for C2R) and
// `strategy`, on the contiguous, round-robin, collaboration-aware, tuned, deliberately bad and
// seeded random placements (plus the baseline), and with `replicas` redundant experts chosen, on
// EPLB with as many (the tuned placement is then the replicated one); without ceilings. Known
// before the search, so that tune can estimate its memory before allocating anything.
RunConfig validation_config(const TuneOptions& options, const WorkloadSetup& setup,
                            const StrategyDescriptor& strategy, const std::vector<int>& layers,
                            RoutingMode routing, int top_t, int ranks, int replicas = 0);

// One validation point: the cell's measured medians (and the traffic and rows per rank it
// measured) against the cost model's prediction for the placement the cell ran. Local: what the
// result holds is already reduced over ranks.
ValidationPoint validation_point(const ValidationRequest& request, const Cell& cell,
                                 const CellResult& result, int ranks);

// Collective. Returns the "validation" of the tuning file. `data`: the store tune read its data
// through (a user's trace is not read again).
Validation validate_predictions(const ValidationRequest& request, DataStore& data,
                                const Communicator& comm);

}  // namespace c2r
