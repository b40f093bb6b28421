// Padded on the device: capacity slots per (source rank, expert), overflow dropped in token
// order, zero padding, the same rows to every rank; the receiver regroups the slots by local
// expert (R x C rows each) and runs one GEMM pair per expert over every slot, padding included,
// as GShard and Tutel do (DevicePairExchange).

#include <algorithm>

#include "collectives/cuda/device_exchange.hpp"

namespace c2r {

namespace {

class DevicePadded final : public DevicePairExchange {
 public:
  using DevicePairExchange::DevicePairExchange;

  void pack(const DeviceLayerInputs& in) override {
    const int slots = in.ranks * in.local;  // (destination rank, local expert)
    const int64_t pairs = std::max<int64_t>(1, in.pairs);
    rows_ = slots * in.capacity;  // sent and received alike
    keys_.grow(pairs);
    order_.grow(pairs);
    sorted_at_.grow(pairs);
    position_.grow(pairs);
    offsets_.grow(slots + 1);
    send_.grow(rows_ * in.hidden);
    recv_.grow(rows_ * in.hidden);  // [R sources x El x C x H]
    returned_.grow(rows_ * in.hidden);
    cuda::map_keys(in.ids, in.pairs, in.slot_of_expert, keys_.data());
    tools_.sorter.sort(keys_.data(), in.pairs, slots, offsets_.data(), order_.data(),
                       sorted_at_.data());
    cuda::zero_device(send_.data(), rows_ * in.hidden * sizeof(float));
    cuda::padded_scatter(in.x, in.hidden, order_.data(), keys_.data(), offsets_.data(), in.pairs,
                         in.k, in.capacity, send_.data(), position_.data());
  }

  // No counts: every peer gets El x C rows.
  const ExchangeLayout& dispatch(const DeviceLayerInputs& in) override {
    if (static_cast<int>(layout_.send_rows.size()) != in.ranks) {
      layout_ = AlltoallvLayout(in.ranks);
      const int per_peer = static_cast<int>(in.local * in.capacity);
      std::fill(layout_.send_rows.begin(), layout_.send_rows.end(), per_peer);
      std::fill(layout_.recv_rows.begin(), layout_.recv_rows.end(), per_peer);
      layout_.compute_offsets();
      const int64_t row_bytes = static_cast<int64_t>(in.hidden) * sizeof(float);
      shape_.set(layout_, row_bytes, row_bytes);
    }
    block_rows_.assign(in.ranks * in.local, in.capacity);
    tools_.transport.alltoallv_rows(send_.data(), recv_.data(), layout_, shape_.dispatch_row_bytes);
    return shape_;
  }

  std::vector<bool> kept(const DeviceLayerInputs& in) const override {
    std::vector<bool> kept(in.pairs);
    const std::vector<int64_t> placed = position_.download();
    for (int64_t p = 0; p < in.pairs; ++p) kept[p] = placed[p] >= 0;
    return kept;
  }

  DeviceCeilingBuffers ceiling_buffers() override {
    return {grouped(), expert_rows(), send_.data(), recv_.data(), recv_.data(), returned_.data()};
  }

 private:
  int64_t rows_ = 0;                       // R x El x C, sent and received
  cuda::DeviceBuffer<int32_t> keys_;       // [T x k] send slot of each pair
  cuda::DeviceBuffer<int64_t> offsets_;    // [R x El + 1]
  cuda::DeviceBuffer<int64_t> order_;      // [T x k] pairs sorted by slot
  cuda::DeviceBuffer<int64_t> sorted_at_;  // [T x k]
  AlltoallvLayout layout_;
  cuda::DeviceBuffer<float> send_;  // [R x El x C x H]
};

}  // namespace

std::unique_ptr<DeviceExchange> make_device_padded(const DeviceTools& tools) {
  return std::make_unique<DevicePadded>(tools);
}

}  // namespace c2r
