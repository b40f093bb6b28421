#pragma once
// The MoE layer suite: runs one grid cell (routing, Top-T, strategy, placement, layer) end to end
// on this rank's tokens under the shared harness, measures its same-run ceilings, counts its
// traffic and load, and checks its output against a serial reference.

#include <map>
#include <memory>
#include <optional>
#include <vector>

#include "bench/harness.hpp"
#include "bench/routing_source.hpp"
#include "bench/run_config.hpp"
#include "collectives/strategy.hpp"
#include "common/communicator.hpp"
#include "kernels/cpu/expert_ffn.hpp"
#include "kernels/cpu/gating.hpp"
#include "model/data_store.hpp"
#include "model/workload.hpp"
#include "results/cell_result.hpp"
#include "tuner/collab_placement.hpp"

namespace c2r {

// Expert weights generated on first use and kept for the run.
class ExpertCache {
 public:
  ExpertCache(uint64_t seed, int hidden, int ffn) : seed_(seed), hidden_(hidden), ffn_(ffn) {}
  const FfnWeights& get(int expert);

 private:
  uint64_t seed_;
  int hidden_, ffn_;
  std::map<int, std::unique_ptr<FfnWeights>> weights_;
};

// Everything cells with the same (layer, routing, Top-T) share: tokens, gate, routing statistics.
struct RoutingGroup {
  int layer = -1;
  RoutingMode routing = RoutingMode::kVanilla;
  int top_t = 0;
  TokenBatch batch;
  GateSpec gate;
  std::vector<int32_t> expert_ids;         // [T_r x k] routing of this rank's tokens
  std::vector<float> weights;              // [T_r x k]
  CollaborationMatrix coactivation;        // global co-activation of this routing (all ranks)
  std::vector<int64_t> tokens_per_expert;  // [E] global (token, expert) pairs per expert
  double trace_match = -1.0;    // trace: fraction of tokens whose gate picked the sampled pair
  std::string c2r_list_source;  // where Top-T came from
  // Serial reference outputs [T_r x H], keyed by the kept-pair mask they assume.
  std::vector<std::pair<std::vector<bool>, std::vector<float>>> references;
};

// What a backend's timed loop measured and moved for one cell (this rank's view).
struct CellMeasurement {
  PhaseSamples samples;
  ExchangeShape shape;  // layouts, row bytes, rows per local expert, dropped pairs
  // Same-run ceilings, per iteration (us); empty when not measured.
  std::vector<double> expert_ceiling, dispatch_ceiling, combine_ceiling;
  double flops_per_row = 0.0;  // of one routed expert row
  std::vector<float> y;        // [T_r x H] the layer output
};

class LayerSuite {
 public:
  LayerSuite(const RunConfig& config, const Communicator& comm, DataStore& data);

  // Collective: every rank calls it with the same cell. Returns the cell's result.
  CellResult run_cell(const Cell& cell);

  // Where the cells' tokens and gates come from, and whether `name` was added for `layer`.
  const RoutingSource& routing() const { return routing_; }
  bool has_added_placement(const std::string& name, int layer) const;

  // A placement the caller made (the tuner's), used by cells whose placement is `name`.
  void add_placement(const std::string& name, int layer, const Placement& placement);

  // For other backends' timed loops: the cell's tokens, gate and routing (collective), its
  // placement, and expert weights.
  const RoutingGroup& prepare(const Cell& cell) {
    prepare_group(cell);
    return group_;
  }
  Placement placement_for(const Cell& cell, CollabSearch* search) {
    return make_placement(cell.placement, cell.layer, search);
  }
  const FfnWeights& expert_weights(int expert) { return experts_.get(expert); }
  // The shared expert every token uses, or null.
  const FfnWeights* shared_expert() const { return shared_expert_ ? &*shared_expert_ : nullptr; }

  // Collective: the result of a cell from what a backend measured (traffic, load, ceilings'
  // efficiencies, and the check against the serial reference when --check). Built section by
  // section in bench/cell_result_builder.cpp.
  CellResult cell_result(const Cell& cell, const Placement& placement, const CollabSearch& search,
                         const CellMeasurement& measured);

 private:
  void prepare_group(const Cell& cell);
  // `search` is filled for the collab placement.
  Placement make_placement(const std::string& name, int layer, CollabSearch* search);
  const std::vector<float>& reference(const std::vector<bool>& kept);
  // [T_r x k] the pairs that should reach their expert, worked out here from the routing alone,
  // not from the strategy's own bookkeeping: every pair, except under a capacity-limited
  // strategy, where each expert takes this rank's pairs in token order up to its capacity.
  std::vector<bool> expected_kept(const StrategyDescriptor& strategy) const;
  // The same-run ceilings of a measured cell: the dense GEMMs of its expert rows, the plain
  // collective of its dispatch and combine layouts.
  void time_ceilings(const StrategyDescriptor& strategy, const FfnWeights& dense_weights,
                     CellMeasurement& m);

  const RunConfig& config_;
  const Communicator& comm_;
  DataStore& data_;
  RoutingSource routing_;
  ExpertCache experts_;
  std::optional<FfnWeights> shared_expert_;
  RoutingGroup group_;
  std::map<std::pair<std::string, int>, Placement> added_placements_;  // (name, layer) ->
};

}  // namespace c2r
