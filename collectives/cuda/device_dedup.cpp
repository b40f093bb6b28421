// Dedup on the device: one row per (token, destination rank) with the slots inline; the
// destination gathers its pairs by local expert, sums each row's experts with their weights and
// returns one row.

#include <algorithm>
#include <numeric>

#include "collectives/cuda/device_exchange.hpp"
#include "kernels/cuda/dedup.hpp"

namespace c2r {

namespace {

class DeviceDedup final : public DeviceExchange {
 public:
  using DeviceExchange::DeviceExchange;

  // Leading slots sorted by destination (rows first; other slots in the last bucket).
  void pack(const DeviceLayerInputs& in) override {
    const int64_t pairs = std::max<int64_t>(1, in.pairs);
    stride_ = in.hidden + 2 * in.k;  // floats per sent row
    row_keys_.grow(pairs);
    row_order_.grow(pairs);
    row_of_slot_.grow(pairs);
    row_offsets_.grow(in.ranks + 2);
    send_counts_.grow(in.ranks);
    recv_counts_.grow(in.ranks);
    send_.grow(pairs * stride_);
    returned_.grow(pairs * in.hidden);
    cuda::dedup_row_keys(in.ids, in.tokens, in.k, in.rank_of_expert, in.ranks, row_keys_.data());
    tools_.sorter.sort(row_keys_.data(), in.pairs, in.ranks + 1, row_offsets_.data(),
                       row_order_.data(), row_of_slot_.data());
    cuda::mask_positions(row_of_slot_.data(), row_keys_.data(), in.pairs, in.ranks);
    cuda::counts_from_offsets(row_offsets_.data(), in.ranks, send_counts_.data());
    sent_ = send_counts_.download();
    const int64_t rows = std::accumulate(sent_.begin(), sent_.end(), int64_t{0});
    cuda::dedup_pack(in.x, in.hidden, in.ids, in.weights, in.k, in.rank_of_expert,
                     in.local_of_expert, row_order_.data(), row_keys_.data(), rows, send_.data());
  }

  const ExchangeLayout& dispatch(const DeviceLayerInputs& in) override {
    tools_.transport.exchange_counts(send_counts_.data(), recv_counts_.data(), 1);
    if (static_cast<int>(layout_.send_rows.size()) != in.ranks) layout_ = AlltoallvLayout(in.ranks);
    fill_rows(sent_, 1, layout_.send_rows);
    fill_rows(recv_counts_.download(), 1, layout_.recv_rows);
    layout_.compute_offsets();
    received_ = layout_.total_recv_rows();
    recv_.grow(std::max<int64_t>(1, received_) * stride_);
    const int64_t row_bytes = stride_ * static_cast<int64_t>(sizeof(float));
    tools_.transport.alltoallv_rows(send_.data(), recv_.data(), layout_, row_bytes);
    shape_.set(layout_, row_bytes, static_cast<int64_t>(in.hidden) * sizeof(float));
    return shape_;
  }

  // The received rows' local pairs, sorted by local expert, gathered contiguously.
  void regroup(const DeviceLayerInputs& in) override {
    const int64_t slots = received_ * in.k;
    slot_keys_.grow(std::max<int64_t>(1, slots));
    slot_weights_.grow(std::max<int64_t>(1, slots));
    slot_order_.grow(std::max<int64_t>(1, slots));
    slot_position_.grow(std::max<int64_t>(1, slots));
    expert_offsets_.grow(in.local + 2);
    cuda::dedup_unpack_slots(recv_.data(), received_, in.hidden, in.k, in.local, slot_keys_.data(),
                             slot_weights_.data());
    tools_.sorter.sort(slot_keys_.data(), slots, in.local + 1, expert_offsets_.data(),
                       slot_order_.data(), slot_position_.data());
    cuda::mask_positions(slot_position_.data(), slot_keys_.data(), slots, in.local);
    local_offsets_ = expert_offsets_.download();
    local_offsets_.resize(in.local + 1);  // drop the no-pair bucket
    const int64_t local_pairs = local_offsets_.back();
    gathered_.grow(std::max<int64_t>(1, local_pairs) * in.hidden);
    cuda::gather_rows(recv_.data(), stride_, slot_order_.data(), local_pairs, in.k, in.hidden,
                      gathered_.data(), in.hidden);
  }

  void compute_experts(const DeviceLayerInputs& in) override {
    int64_t largest = 1;
    shape_.rows_per_local_expert.resize(in.local);
    shape_.expert_gemm_pairs = 0;
    for (int le = 0; le < in.local; ++le) {
      shape_.rows_per_local_expert[le] = local_offsets_[le + 1] - local_offsets_[le];
      shape_.expert_gemm_pairs += shape_.rows_per_local_expert[le] > 0;
      largest = std::max(largest, shape_.rows_per_local_expert[le]);
    }
    expert_out_.grow(std::max<int64_t>(1, local_offsets_.back()) * in.hidden);
    scratch_.grow(cuda::ffn_scratch_floats(largest, in.ffn));
    cuda::grouped_swiglu_ffn(tools_.blas, in.bank, local_offsets_, gathered_.data(),
                             expert_out_.data(), scratch_.data());
  }

  // One weighted sum of its local experts per received row.
  void reduce(const DeviceLayerInputs& in) override {
    back_.grow(std::max<int64_t>(1, received_) * in.hidden);
    cuda::weighted_unpermute(expert_out_.data(), in.hidden, slot_position_.data(),
                             slot_weights_.data(), received_, in.k, in.hidden, back_.data());
  }

  void combine(const ExchangeLayout& layout) override {
    tools_.transport.alltoallv_rows(back_.data(), returned_.data(), layout.combine,
                                    layout.combine_row_bytes);
  }

  // A token's output is the sum of its returned rows (weights were applied remotely).
  void unpack(const DeviceLayerInputs& in, float* y) override {
    cuda::weighted_unpermute(returned_.data(), in.hidden, row_of_slot_.data(), nullptr, in.tokens,
                             in.k, in.hidden, y);
  }

  DeviceCeilingBuffers ceiling_buffers() override {
    return {gathered_.data(), local_offsets_.empty() ? 0 : local_offsets_.back(),
            send_.data(),     recv_.data(),
            back_.data(),     returned_.data()};
  }

 private:
  int64_t stride_ = 0;                       // floats per sent row: H + k ids + k weights
  int64_t received_ = 0;                     // rows received
  cuda::DeviceBuffer<int32_t> row_keys_;     // [T x k] destination of leading slots
  cuda::DeviceBuffer<int64_t> row_offsets_;  // [R + 2]
  cuda::DeviceBuffer<int64_t> row_order_;    // [T x k]
  cuda::DeviceBuffer<int64_t> row_of_slot_;  // [T x k] send row of each leading slot, or -1
  cuda::DeviceBuffer<int64_t> send_counts_, recv_counts_;  // [R]
  std::vector<int64_t> sent_;                              // [R] host copy of send_counts_
  AlltoallvLayout layout_;
  cuda::DeviceBuffer<float> send_;  // [rows x stride]
  cuda::DeviceBuffer<float> recv_;  // [received x stride]
  // Destination side: received slots -> local-expert-grouped pairs.
  cuda::DeviceBuffer<int32_t> slot_keys_;       // [received x k] local expert, or El
  cuda::DeviceBuffer<float> slot_weights_;      // [received x k]
  cuda::DeviceBuffer<int64_t> expert_offsets_;  // [El + 2]
  cuda::DeviceBuffer<int64_t> slot_order_;      // [received x k]
  cuda::DeviceBuffer<int64_t> slot_position_;   // [received x k] gathered row, or -1
  std::vector<int64_t> local_offsets_;          // [El + 1] host copy
  cuda::DeviceBuffer<float> gathered_;          // [local pairs x H] in local expert order
  cuda::DeviceBuffer<float> expert_out_;        // [local pairs x H]
  cuda::DeviceBuffer<float> back_;              // [received x H] the reduced rows sent back
  cuda::DeviceBuffer<float> returned_;          // [T x k x H] (rows used: those sent)
  cuda::DeviceBuffer<float> scratch_;
};

}  // namespace

std::unique_ptr<DeviceExchange> make_device_dedup(const DeviceTools& tools) {
  return std::make_unique<DeviceDedup>(tools);
}

}  // namespace c2r
