// Dropless on the device: one row per (token, expert) pair sorted by (destination rank, local
// expert); the receiver regroups its rows by local expert and runs one GEMM pair per expert
// (DevicePairExchange), as MegaBlocks does.

#include <algorithm>

#include "collectives/cuda/device_exchange.hpp"

namespace c2r {

namespace {

class DeviceDropless final : public DevicePairExchange {
 public:
  using DevicePairExchange::DevicePairExchange;

  void pack(const DeviceLayerInputs& in) override {
    const int slots = in.ranks * in.local;  // send order: (destination rank, local expert)
    const int64_t pairs = std::max<int64_t>(1, in.pairs);
    keys_.grow(pairs);
    order_.grow(pairs);
    position_.grow(pairs);
    offsets_.grow(slots + 1);
    send_counts_.grow(slots);
    recv_counts_.grow(slots);
    send_.grow(pairs * in.hidden);
    returned_.grow(pairs * in.hidden);
    cuda::map_keys(in.ids, in.pairs, in.slot_of_expert, keys_.data());
    tools_.sorter.sort(keys_.data(), in.pairs, slots, offsets_.data(), order_.data(),
                       position_.data());
    cuda::gather_rows(in.x, in.hidden, order_.data(), in.pairs, in.k, in.hidden, send_.data(),
                      in.hidden);
    cuda::counts_from_offsets(offsets_.data(), slots, send_counts_.data());
  }

  // The counts travel on the device; the host then posts the row transfers.
  const ExchangeLayout& dispatch(const DeviceLayerInputs& in) override {
    tools_.transport.exchange_counts(send_counts_.data(), recv_counts_.data(), in.local);
    block_rows_ = recv_counts_.download();
    if (static_cast<int>(layout_.send_rows.size()) != in.ranks) layout_ = AlltoallvLayout(in.ranks);
    fill_rows(send_counts_.download(), in.local, layout_.send_rows);
    fill_rows(block_rows_, in.local, layout_.recv_rows);
    layout_.compute_offsets();
    recv_.grow(std::max<int64_t>(1, layout_.total_recv_rows()) * in.hidden);
    const int64_t row_bytes = static_cast<int64_t>(in.hidden) * sizeof(float);
    tools_.transport.alltoallv_rows(send_.data(), recv_.data(), layout_, row_bytes);
    shape_.set(layout_, row_bytes, row_bytes);
    return shape_;
  }

  DeviceCeilingBuffers ceiling_buffers() override {
    return {grouped(), expert_rows(), send_.data(), recv_.data(), recv_.data(), returned_.data()};
  }

 private:
  cuda::DeviceBuffer<int32_t> keys_;         // [T x k] send slot of each pair
  cuda::DeviceBuffer<int64_t> offsets_;      // [R x El + 1]
  cuda::DeviceBuffer<int64_t> order_;        // [T x k] pairs in send order
  cuda::DeviceBuffer<int64_t> send_counts_;  // [R x El]
  cuda::DeviceBuffer<int64_t> recv_counts_;  // [R x El]
  AlltoallvLayout layout_;
  cuda::DeviceBuffer<float> send_;  // [T x k x H]
};

}  // namespace

std::unique_ptr<DeviceExchange> make_device_dropless(const DeviceTools& tools) {
  return std::make_unique<DeviceDropless>(tools);
}

}  // namespace c2r
