#pragma once
// The device steps of an exchange strategy (`run --backend cuda`): the same steps as the CPU's
// ExchangeStrategy, on device buffers with CUDA kernels and the device transport (NCCL, or MPI
// through host memory). The CUDA backend's
// layer (bench/cuda/cuda_layer_suite.cpp) runs the gate and the shared expert and calls these for
// the rest; device_exchange_factories() is its table of strategies with device steps.

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "collectives/cuda/device_transport.hpp"
#include "collectives/strategy.hpp"
#include "kernels/cuda/device.hpp"
#include "kernels/cuda/expert_ffn.hpp"
#include "kernels/cuda/permute.hpp"

namespace c2r {

// One cell's routing on the device (written by the gate every iteration) and its placement.
struct DeviceLayerInputs {
  int k = 0, hidden = 0, experts = 0, ffn = 0, ranks = 0, local = 0;  // local: experts per rank
  int64_t tokens = 0, pairs = 0;                                      // T, T x k
  int64_t capacity = 0;            // capacity-limited strategies: slots per (source rank, expert)
  const float* x = nullptr;        // [T x H]
  const int32_t* ids = nullptr;    // [T x k] chosen experts
  const float* weights = nullptr;  // [T x k] gate weights
  const int32_t* rank_of_expert = nullptr;          // [E]
  const int32_t* local_of_expert = nullptr;         // [E]
  const int32_t* slot_of_expert = nullptr;          // [E] rank * local + local index
  std::vector<const cuda::DeviceFfnWeights*> bank;  // [local] this rank's experts
};

// What the steps share with the backend: the cuBLAS handle, the pair sorter, the transport
// between ranks (NCCL, or MPI through host memory).
struct DeviceTools {
  const cuda::Blas& blas;
  cuda::PairSorter& sorter;
  const cuda::DeviceTransport& transport;
};

// The buffers the same-run ceilings replay: the rows the experts computed, and the exchanges'
// send / receive buffers each way, as the last iteration left them.
struct DeviceCeilingBuffers {
  const float* routed = nullptr;  // [routed_rows x H]
  int64_t routed_rows = 0;
  const float* dispatch_send = nullptr;
  float* dispatch_recv = nullptr;
  const float* combine_send = nullptr;
  float* combine_recv = nullptr;
};

class DeviceExchange {
 public:
  explicit DeviceExchange(const DeviceTools& tools) : tools_(tools) {}
  virtual ~DeviceExchange() = default;

  // The steps of one layer, in this order (see collectives/strategy.hpp).
  virtual void pack(const DeviceLayerInputs& in) = 0;
  virtual const ExchangeLayout& dispatch(const DeviceLayerInputs& in) = 0;
  virtual void regroup(const DeviceLayerInputs& in) { (void)in; }
  virtual void compute_experts(const DeviceLayerInputs& in) = 0;
  virtual void reduce(const DeviceLayerInputs& in) { (void)in; }
  virtual void combine(const ExchangeLayout& layout) = 0;
  // y: [T x H] the routed experts' sum per token.
  virtual void unpack(const DeviceLayerInputs& in, float* y) = 0;

  // After the timed loop: the layout, rows per local expert and drops of the last iteration.
  const ExchangeShape& shape() const { return shape_; }
  // After the timed loop: [T x k] whether each pair reached its expert.
  virtual std::vector<bool> kept(const DeviceLayerInputs& in) const {
    return std::vector<bool>(in.pairs, true);
  }
  virtual DeviceCeilingBuffers ceiling_buffers() = 0;

 protected:
  // Rows per peer from `counts` per (peer, per_peer) group.
  static void fill_rows(const std::vector<int64_t>& counts, int per_peer, std::vector<int>& rows);

  DeviceTools tools_;
  ExchangeShape shape_;
};

// The device steps shared by strategies that send one row per (token, expert) slot (dropless,
// padded). Both receive their rows source-major, local expert within; like MegaBlocks they then
// regroup them by local expert, run one SwiGLU GEMM pair per expert over its whole block, and
// move the outputs back to the receive order, into recv_, which combine returns into returned_
// (the send layout). The unpack sums each pair's row, found at position_[pair] (-1: dropped),
// with the pair's gate weight.
class DevicePairExchange : public DeviceExchange {
 public:
  using DeviceExchange::DeviceExchange;
  // recv_ -> grouped_: one contiguous block per local expert (by local expert, then source rank).
  void regroup(const DeviceLayerInputs& in) override;
  void compute_experts(const DeviceLayerInputs& in) override;
  // expert_out_ -> recv_, the receive order combine sends back.
  void reduce(const DeviceLayerInputs& in) override;
  void combine(const ExchangeLayout& layout) override;
  void unpack(const DeviceLayerInputs& in, float* y) override;

 protected:
  // The expert phase's rows, for the ceilings: [expert rows x H] in expert order.
  const float* grouped() const { return grouped_.data(); }
  int64_t expert_rows() const { return expert_offsets_.empty() ? 0 : expert_offsets_.back(); }

  // Set by dispatch() (host): received rows of (source rank s, local expert le) at s * El + le.
  std::vector<int64_t> block_rows_;       // [R x El]
  cuda::DeviceBuffer<int64_t> position_;  // [T x k] send row of each pair, -1 dropped
  // [received rows x H] in receive order (source-major, local expert within): the dispatched
  // rows, then, after reduce(), their expert outputs, which combine sends back.
  cuda::DeviceBuffer<float> recv_;
  cuda::DeviceBuffer<float> returned_;  // [sent rows x H]

 private:
  // [3 x R x El]: each block's first receive row, its first row in grouped_, its rows. Uploaded
  // only when the counts change (the same routing gives the same table every iteration).
  std::vector<int64_t> block_table_host_;
  cuda::DeviceBuffer<int64_t> block_table_;  // the same, on the device
  int64_t largest_block_ = 0;                // rows of the largest (source, local expert) block
  std::vector<int64_t> expert_offsets_;      // [El + 1] first row of each local expert in grouped_
  cuda::DeviceBuffer<float> grouped_;        // [received rows x H], by local expert, then source
  cuda::DeviceBuffer<float> expert_out_;     // [received rows x H], same layout as grouped_
  cuda::DeviceBuffer<float> scratch_;        // FFN scratch of the largest expert's rows
};

using DeviceExchangeFactory = std::function<std::unique_ptr<DeviceExchange>(const DeviceTools&)>;

// Strategies with device steps, by name: one line each in collectives/device_exchange.cpp.
const std::vector<std::pair<std::string, DeviceExchangeFactory>>& device_exchange_factories();
// Throws c2r::Error when `strategy` has no device steps.
const DeviceExchangeFactory& device_exchange_factory(const StrategyDescriptor& strategy);

}  // namespace c2r
