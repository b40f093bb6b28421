// MegaBlocks-style dropless exchange, the baseline: one row per (token, expert) pair, ordered by
// destination rank then expert, counts exchanged first, then one all2allv each way. The receiver
// regroups its rows by local expert and runs one GEMM pair per expert (PairExchange), as
// MegaBlocks does after its all2all.

#include <cstring>

#include "collectives/pair_exchange.hpp"
#include "collectives/strategy.hpp"
#include "common/error.hpp"
#include "kernels/cpu/permute.hpp"

namespace c2r {

namespace {

class DroplessExchange : public PairExchange {
 public:
  void pack(const LayerInputs& in) override;
  const ExchangeLayout& plan_dispatch(const Communicator& comm) override;
  RowTransfer dispatch_rows() override {
    return {send_.bytes(), recv_.bytes(), &layout_, send_.row_bytes()};
  }
  RowTransfer combine_rows(const ExchangeLayout& layout) override;

 private:
  std::vector<int32_t> slot_of_pair_;  // [T_r*k] destination slot = rank * El + local expert
  std::vector<int64_t> slot_offsets_;  // [R*El + 1] first send row of each slot
  std::vector<int64_t> pair_order_;    // [T_r*k] pairs in send order
  std::vector<int> send_counts_;       // [R x El] rows for each (destination, its local expert)
  std::vector<int> recv_counts_;       // [R x El] rows from each (source, my local expert)
  AlltoallvLayout layout_;
  PayloadRows send_;  // [T_r*k x H]
};

void DroplessExchange::pack(const LayerInputs& in) {
  const Placement& placement = *in.placement;
  ranks_ = placement.ranks();
  experts_per_rank_ = placement.experts_per_rank();
  hidden_ = in.hidden;
  set_formats(in);
  const int64_t pairs = in.tokens * in.top_k;
  const int slots = ranks_ * experts_per_rank_;
  slot_of_pair_.resize(pairs);
  slot_offsets_.resize(slots + 1);
  pair_order_.resize(pairs);
  row_of_pair_.resize(pairs);
  send_.resize(dispatch_format_, pairs);
  float* send = send_.floats();

  for (int64_t p = 0; p < pairs; ++p) {
    const int e = in.expert_ids[p];
    slot_of_pair_[p] = placement.rank_of(e) * experts_per_rank_ + placement.local_index(e);
  }
  stable_bucket_order(slot_of_pair_.data(), pairs, slots, slot_offsets_.data(), pair_order_.data());
  const size_t row_bytes = static_cast<size_t>(hidden_) * sizeof(float);
  for (int64_t row = 0; row < pairs; ++row) {
    const int64_t p = pair_order_[row];
    row_of_pair_[p] = row;
    std::memcpy(&send[row * hidden_], in.x + (p / in.top_k) * hidden_, row_bytes);
  }
  send_.encode();
  send_counts_.resize(slots);
  for (int s = 0; s < slots; ++s) {
    send_counts_[s] = static_cast<int>(slot_offsets_[s + 1] - slot_offsets_[s]);
  }
}

const ExchangeLayout& DroplessExchange::plan_dispatch(const Communicator& comm) {
  const int slots = ranks_ * experts_per_rank_;
  recv_counts_.resize(slots);
  comm.alltoall_ints(send_counts_.data(), experts_per_rank_, recv_counts_.data());

  if (static_cast<int>(layout_.send_rows.size()) != ranks_) layout_ = AlltoallvLayout(ranks_);
  for (int r = 0; r < ranks_; ++r) {
    layout_.send_rows[r] = layout_.recv_rows[r] = 0;
    for (int le = 0; le < experts_per_rank_; ++le) {
      layout_.send_rows[r] += send_counts_[r * experts_per_rank_ + le];
      layout_.recv_rows[r] += recv_counts_[r * experts_per_rank_ + le];
    }
  }
  layout_.compute_offsets();
  block_rows_.assign(recv_counts_.begin(), recv_counts_.end());
  recv_.resize(dispatch_format_, layout_.total_recv_rows());
  shape_.set(layout_, send_.row_bytes(), combine_format_.row_bytes());
  return shape_;
}

RowTransfer DroplessExchange::combine_rows(const ExchangeLayout& layout) {
  returned_.resize(combine_format_, send_.rows());
  return {recv_.bytes(), returned_.bytes(), &layout.combine, layout.combine_row_bytes};
}

// Permute: packs one row per pair, then regroups the received rows by expert. Unpermute: moves
// the expert outputs back to the receive order, then the unpack sums a weighted row per pair.
CopyBytes dropless_copies(const CopyVolume& v) {
  return {(v.pairs + v.expert_rows) * v.hidden_row_bytes,
          (v.expert_rows + v.pairs) * v.hidden_row_bytes};
}

}  // namespace

StrategyDescriptor dropless_strategy() {
  return {"dropless",
          "MegaBlocks: one row per (token, expert) pair, variable counts, nothing dropped (the "
          "baseline)",
          {RowRule::kPerPair, 0, dropless_copies, /*expert_order_buffers=*/1},
          [] { return std::make_unique<DroplessExchange>(); },
          {PayloadType::kFp32, PayloadType::kBf16, PayloadType::kFp8}};
}

}  // namespace c2r
