#pragma once
// The steps of one MoE layer, written once for every backend: their order, the phase each is
// charged to, and the barrier before each exchange. A backend (CPU: OpenBLAS + MPI; CUDA: device
// kernels + NCCL) implements the steps of one cell as a CellRun (bench/cell_run.hpp); the schedule
// (bench/cell_schedule.hpp) times its iterations.
//
//   gate -> pack -> | dispatch -> regroup -> compute_experts -> reduce -> | combine -> unpack
//   gate    permute    dispatch    permute    expert             unpermute   combine    unpermute
// ("|": a barrier, timed as sync, so that the exchanges time only themselves).

#include "bench/harness.hpp"
#include "common/communicator.hpp"

namespace c2r {

class LayerSteps {
 public:
  virtual ~LayerSteps() = default;
  virtual void gate() = 0;             // router logits, top-k or C2R selection, gate weights
  virtual void pack() = 0;             // rows ordered by destination into the send buffer
  virtual void dispatch() = 0;         // counts (variable-size exchanges), then rows
  virtual void regroup() = 0;          // received rows grouped by local expert
  virtual void compute_experts() = 0;  // grouped expert FFN, and the shared expert
  virtual void reduce() = 0;           // per received row, its local experts' weighted sum
  virtual void combine() = 0;          // expert outputs back to their source ranks
  virtual void unpack() = 0;           // per token, the weighted sum into y (+ shared expert)
  // Returns when the work the last step issued is done (a device stream), so that the clock
  // charges each step its own time. The CPU's steps are synchronous.
  virtual void wait() {}
};

// One layer: every step in order, each charged to its phase on `clock`.
void run_layer(LayerSteps& steps, const Communicator& comm, PhaseClock& clock);

}  // namespace c2r
