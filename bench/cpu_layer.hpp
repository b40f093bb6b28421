#pragma once
// The CPU backend's layer steps for one cell: the gate and the shared expert here, the exchange
// by the cell's strategy (OpenBLAS kernels, MPI exchange).

#include <memory>
#include <vector>

#include "bench/layer_steps.hpp"
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
};

class CpuLayer final : public LayerSteps {
 public:
  // Allocates every per-rank buffer before timing.
  CpuLayer(const CpuLayerSetup& setup, const Communicator& comm);

  void gate() override;
  void pack() override { strategy_->pack(in_); }
  void dispatch() override { layout_ = &strategy_->dispatch(comm_); }
  void regroup() override { strategy_->regroup(); }
  void compute_experts() override;
  void reduce() override { strategy_->reduce(); }
  void combine() override { strategy_->combine(comm_, *layout_); }
  void unpack() override;

  const ExchangeStrategy& strategy() const { return *strategy_; }
  const ExpertBank& bank() const { return setup_.bank; }
  std::vector<float>& output() { return y_; }  // [T x H] the layer output

 private:
  CpuLayerSetup setup_;
  const Communicator& comm_;
  std::unique_ptr<ExchangeStrategy> strategy_;
  const ExchangeLayout* layout_ = nullptr;  // what dispatch() produced, for combine()
  LayerInputs in_;
  std::vector<float> logits_;        // [T x E]
  std::vector<int32_t> expert_ids_;  // [T x k]
  std::vector<float> weights_;       // [T x k]
  std::vector<float> shared_scale_;  // [T], shared expert only
  std::vector<float> shared_out_;    // [T x H], shared expert only
  std::vector<float> y_;             // [T x H]
  std::vector<float> scratch_;       // FFN scratch of the widest FFN
};

}  // namespace c2r
