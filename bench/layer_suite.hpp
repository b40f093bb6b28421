#pragma once
// The MoE layer suite: sets up one grid cell (routing, Top-T, strategy, placement, layer) on this
// rank's tokens as a CellRun (its layer steps and same-run ceilings, timed by the schedule), and
// turns what was measured into the cell's result: traffic, load, efficiencies and the check
// against a serial reference.

#include <map>
#include <memory>
#include <optional>
#include <tuple>
#include <vector>

#include "bench/cache_flush.hpp"
#include "bench/cell_result_builder.hpp"
#include "bench/cell_run.hpp"
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
#include "tuner/eplb.hpp"

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

// Collective: the EPLB shape of this job's ranks with `replicas` redundant experts: its nodes
// (MPI's shared-memory groups) when they hold equal blocks of consecutive ranks, else one node;
// one expert group per node when the experts divide over the nodes (hierarchical balancing).
EplbShape eplb_shape(const Communicator& comm, int experts, int replicas);

// Everything cells with the same (layer, routing, Top-T) share: tokens, gate, routing statistics.
// Kept while any of its cells runs (all of a run's cells when they are interleaved).
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
  double trace_match = -1.0;    // traces: fraction of tokens whose gate picked the trace's experts
  std::string c2r_list_source;  // where Top-T came from
  // Serial reference outputs, keyed by the kept-pair mask and the payload type they assume.
  std::vector<Reference> references;
};

// What a backend measured and moved for one cell (this rank's view).
struct CellMeasurement {
  const CellSamples* samples = nullptr;  // the layer's and its ceilings' per-iteration times
  ExchangeShape shape;                   // layouts, row bytes, rows per local expert, dropped pairs
  double flops_per_row = 0.0;            // of one routed expert row
  std::vector<float> y;                  // [T_r x H] the layer output
  // A backend with a gate of its own (the GPU's): the experts and gate weights it chose, [T_r x k]
  // each. --check then counts the tokens it routed unlike the CPU gate and judges the output
  // against a reference of its own routing. own_gate false: the CPU gate's routing.
  bool own_gate = false;
  std::vector<int32_t> routed_ids;
  std::vector<float> routed_weights;
};

class LayerSuite {
 public:
  LayerSuite(const RunConfig& config, const Communicator& comm, DataStore& data);

  // Collective: every rank calls it with the same cell. The cell's layer on the CPU (OpenBLAS,
  // MPI) with its buffers allocated, ready for the schedule to time.
  std::unique_ptr<CellRun> start_cell(const Cell& cell);

  // Where the cells' tokens and gates come from, and whether `name` was added for `layer`.
  const RoutingSource& routing() const { return routing_; }
  bool has_added_placement(const std::string& name, int layer) const;

  // A placement the caller made (the tuner's), used by cells whose placement is `name`.
  void add_placement(const std::string& name, int layer, const Placement& placement);

  // For other backends' cells: the cell's tokens, gate and routing (collective; kept while the
  // suite lives, or until a cell of another group is prepared in a sequential run), its
  // placement, and expert weights.
  const RoutingGroup& prepare(const Cell& cell) { return group(cell); }
  Placement placement_for(const Cell& cell, CollabSearch* search) {
    return make_placement(cell.placement, cell.layer, group(cell), search);
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
  class CpuCellRun;  // one cell's CPU layer and ceilings (layer_suite.cpp)

  RoutingGroup& group(const Cell& cell);
  // `search` is filled for the collab placement.
  Placement make_placement(const std::string& name, int layer, const RoutingGroup& group,
                           CollabSearch* search);
  // The serial reference of `group`'s tokens routed by `ids` / `weights` ([T_r x k]; the group's
  // own, or a backend's), with the `kept` pairs, in payload type `dtype`; cached in the group.
  const Reference& reference(RoutingGroup& group, const std::vector<int32_t>& ids,
                             const std::vector<float>& weights, const std::vector<bool>& kept,
                             PayloadType dtype);
  // [T_r x k] the pairs that should reach their expert, worked out here from the routing alone,
  // not from the strategy's own bookkeeping: every pair, except under a capacity-limited
  // strategy, where each expert takes this rank's pairs in token order up to its capacity; a
  // pipelined cell does so per token chunk, with each chunk's capacity; a replicated placement's
  // capacity holds per expert slot.
  // `ids`: [T_r x k] the routing (the group's, or a backend's own).
  std::vector<bool> expected_kept(const std::vector<int32_t>& ids, const Cell& cell,
                                  const Placement& placement) const;

  const RunConfig& config_;
  const Communicator& comm_;
  DataStore& data_;
  RoutingSource routing_;
  ExpertCache experts_;
  std::optional<FfnWeights> shared_expert_;
  EplbShape eplb_shape_;  // the ranks' nodes and --replicas, for the eplb placement
  // (layer, routing, Top-T) -> its group; the pointers stay valid while the entry lives.
  std::map<std::tuple<int, int, int>, std::unique_ptr<RoutingGroup>> groups_;
  // The cache flush of the CPU ceilings, one for every cell (it is large); made on first use.
  std::optional<CacheFlusher> flusher_;
  // The CPU ceilings' buffers, shared by every cell (one ceiling runs at a time).
  struct CeilingBuffers {
    std::vector<float> dense_x, dense_out;  // [routed rows x H] of the largest cell so far
    std::vector<float> shared_out;          // [T x H], shared expert only
    std::vector<float> scratch;             // FFN scratch of the widest FFN
    std::vector<char> send, recv;           // [rows x row bytes] of the largest exchange so far
  };
  CeilingBuffers ceiling_buffers_;
  std::map<std::pair<std::string, int>, Placement> added_placements_;  // (name, layer) ->
};

}  // namespace c2r
