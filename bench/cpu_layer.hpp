#pragma once
// The CPU backend's layer steps for one cell: the gate and the shared expert here, the exchange
// by the cell's strategy (OpenBLAS kernels, MPI exchange).
//
// Serial (overlap 1): the steps of bench/layer_steps.hpp, blocking exchanges behind barriers.
// Pipelined (overlap N > 1, run_pipelined): each rank's tokens are split into N chunks, each with
// a strategy of its own; after one count exchange per chunk, chunk i+1's dispatch and chunk i-1's
// combine stay in flight (MPI_Ialltoallv) while chunk i's experts compute, and the shared expert
// computes while the first dispatch flies:
//
//   gate | pack all | counts all | D0 ~ shared | wait D0, D1 ~ E0 | C0, wait D1, D2 ~ E1 | ...
//   ("Di ~ Ej": chunk i's exchange in flight while chunk j's experts run)
//
// A replicated placement routes each (token, expert) pair to one of its expert's slots in the gate
// step (Placement::route_to_slots), and the strategies exchange with the slots as their experts.
//
// Exchanges progress where MPI is called: between the expert GEMMs the layer tests every exchange
// in flight (ProgressHook), unless progress is kWait. The time of those tests is charged to the
// exchange they progress, not to the experts.

#include <memory>
#include <optional>
#include <vector>

#include "bench/cell_run.hpp"
#include "bench/layer_steps.hpp"
#include "bench/run_config.hpp"
#include "collectives/strategy.hpp"
#include "kernels/cpu/expert_ffn.hpp"
#include "kernels/cpu/gating.hpp"
#include "model/workload.hpp"

namespace c2r {

struct CpuLayerSetup {
  const ModelConfig* model = nullptr;
  const TokenBatch* batch = nullptr;  // this rank's tokens
  const GateSpec* gate = nullptr;
  const Placement* placement = nullptr;
  const StrategyDescriptor* strategy = nullptr;
  PayloadType dtype = PayloadType::kFp32;  // of the exchanged rows
  ExpertBank bank;                         // this rank's experts under the placement
  const FfnWeights* shared = nullptr;      // the shared expert, or null
  double capacity_factor = 1.0;
  int64_t capacity_tokens = 0;  // the largest rank's tokens
  int overlap = 1;              // token chunks; 1: the serial layer
  OverlapProgress progress = OverlapProgress::kTest;
};

class CpuLayer final : public LayerSteps {
 public:
  // Allocates every per-rank buffer before timing.
  CpuLayer(const CpuLayerSetup& setup, const Communicator& comm);

  // One iteration: the serial steps (run_layer) or the pipeline, charged to phases on `clock`.
  void run(PhaseClock& clock);

  // The serial layer's steps (overlap 1).
  void gate() override;
  void pack() override { serial().pack(chunks_[0].in); }
  void dispatch() override { chunks_[0].layout = &serial().dispatch(comm_); }
  void regroup() override { serial().regroup(); }
  void compute_experts() override;
  void reduce() override { serial().reduce(); }
  void combine() override { serial().combine(comm_, *chunks_[0].layout); }
  void unpack() override;

  // What the layer exchanged and computed, summed over its chunks: the dispatch layout holds
  // every chunk's rows per peer (the same-run ceilings send them as one exchange).
  ExchangeShape shape() const;
  const ExpertBank& bank() const { return setup_.bank; }
  std::vector<float>& output() { return y_; }  // [T x H] the layer output

 private:
  struct Chunk {
    TokenChunk tokens;  // of this rank's tokens
    LayerInputs in;     // the chunk's view of the layer's inputs
    std::unique_ptr<ExchangeStrategy> strategy;
    const ExchangeLayout* layout = nullptr;  // what plan_dispatch() produced
    PendingExchange dispatch, combine;       // rows in flight (pipelined layer)
  };

  ExchangeStrategy& serial() { return *chunks_[0].strategy; }
  void run_pipelined(PhaseClock& clock);
  // Starts chunk c's dispatch rows (its counts were exchanged before the pipeline).
  void start_dispatch(Chunk& chunk);
  // Waits for an exchange in flight, charged with its progress to `phase`.
  void wait_exchange(PendingExchange& exchange, PhaseClock& clock, Phase phase);
  // Chunk c's routed outputs into y, plus the shared expert's for its tokens.
  void unpack_chunk(Chunk& chunk);
  // Tests every exchange in flight, adding the time to progress_seconds_ (the ProgressHook).
  void progress_exchanges();
  // Moves the progress time lapped inside `step` to the exchanges it progressed.
  void charge_progress(PhaseClock& clock, Phase step);

  CpuLayerSetup setup_;
  const Communicator& comm_;
  std::vector<Chunk> chunks_;  // [overlap], one when serial (the whole batch)
  ProgressHook progress_;      // empty unless pipelined with OverlapProgress::kTest
  double dispatch_progress_seconds_ = 0.0, combine_progress_seconds_ = 0.0;
  std::vector<float> logits_;        // [T x E]
  std::vector<int32_t> expert_ids_;  // [T x k]
  // A replicated placement: the slot each pair goes to, [T x k] (Placement::route_to_slots),
  // and the placement of the slots that the strategies exchange with.
  std::vector<int32_t> slot_ids_;
  std::optional<Placement> slot_placement_;
  std::vector<float> weights_;       // [T x k]
  std::vector<float> shared_scale_;  // [T], shared expert only
  std::vector<float> shared_out_;    // [T x H], shared expert only
  std::vector<float> y_;             // [T x H]
  std::vector<float> scratch_;       // FFN scratch of the widest FFN
};

}  // namespace c2r
