// GShard/Tutel-style padded exchange: every (source rank, expert) gets `capacity` slots; pairs past
// it are dropped in token order; unused slots are zero padding that is sent and computed like real
// rows (GShard and Tutel run the expert over the full capacity); one fixed-size all2all each way,
// no counts. The receiver regroups the slots by local expert, R x C rows each, and runs one GEMM
// pair per expert (PairExchange).

#include <algorithm>
#include <cstring>

#include "collectives/pair_exchange.hpp"
#include "collectives/strategy.hpp"

namespace c2r {

namespace {

class PaddedExchange : public PairExchange {
 public:
  void pack(const LayerInputs& in) override;
  const ExchangeLayout& plan_dispatch(const Communicator& comm) override;
  RowTransfer dispatch_rows() override {
    return {send_.bytes(), recv_.bytes(), &layout_, send_.row_bytes(), /*fixed_size=*/true};
  }
  RowTransfer combine_rows(const ExchangeLayout& layout) override {
    returned_.resize(combine_format_, send_.rows());
    return {recv_.bytes(), returned_.bytes(), &layout.combine, layout.combine_row_bytes, true};
  }
  bool pair_kept(int64_t pair) const override { return row_of_pair_[pair] >= 0; }

 private:
  int64_t capacity_ = 0;         // C, slots per (source rank, expert)
  AlltoallvLayout layout_;       // every peer: El*C rows each way
  std::vector<int64_t> filled_;  // [R*El] slots used per destination slot (rank, local expert)
  PayloadRows send_;             // [R x El x C x H]
};

void PaddedExchange::pack(const LayerInputs& in) {
  const Placement& placement = *in.placement;
  ranks_ = placement.ranks();
  experts_per_rank_ = placement.experts_per_rank();
  hidden_ = in.hidden;
  set_formats(in);
  capacity_ =
      padded_capacity(in.capacity_factor, in.capacity_tokens > 0 ? in.capacity_tokens : in.tokens,
                      in.top_k, placement.experts());
  const int slots = ranks_ * experts_per_rank_;
  const int64_t pairs = in.tokens * in.top_k;
  filled_.assign(slots, 0);
  row_of_pair_.resize(pairs);
  send_.resize(dispatch_format_, slots * capacity_);
  float* send = send_.floats();

  // Token order decides who is dropped: earlier tokens take the slots first.
  const size_t row_bytes = static_cast<size_t>(hidden_) * sizeof(float);
  int64_t dropped = 0;
  for (int64_t p = 0; p < pairs; ++p) {
    const int e = in.expert_ids[p];
    const int slot = placement.rank_of(e) * experts_per_rank_ + placement.local_index(e);
    if (filled_[slot] == capacity_) {
      row_of_pair_[p] = -1;
      ++dropped;
      continue;
    }
    const int64_t row = slot * capacity_ + filled_[slot]++;
    row_of_pair_[p] = row;
    std::memcpy(&send[row * hidden_], in.x + (p / in.top_k) * hidden_, row_bytes);
  }
  for (int slot = 0; slot < slots; ++slot) {
    float* padding = send + (slot * capacity_ + filled_[slot]) * hidden_;
    std::fill(padding, padding + (capacity_ - filled_[slot]) * hidden_, 0.0f);
  }
  send_.encode();
  shape_.pairs_dropped = dropped;
}

// No counts travel: every peer gets El * C rows.
const ExchangeLayout& PaddedExchange::plan_dispatch(const Communicator& /*comm*/) {
  const int64_t rows_per_peer = experts_per_rank_ * capacity_;
  recv_.resize(dispatch_format_, send_.rows());  // [R sources x El x C x H]
  block_rows_.assign(ranks_ * experts_per_rank_, capacity_);
  const int64_t row_bytes = send_.row_bytes();
  if (static_cast<int>(layout_.send_rows.size()) != ranks_) layout_ = AlltoallvLayout(ranks_);
  std::fill(layout_.send_rows.begin(), layout_.send_rows.end(), static_cast<int>(rows_per_peer));
  std::fill(layout_.recv_rows.begin(), layout_.recv_rows.end(), static_cast<int>(rows_per_peer));
  layout_.compute_offsets();
  shape_.set(layout_, row_bytes, combine_format_.row_bytes());
  return shape_;
}

// Permute: packs every capacity slot, padding included, then regroups every received slot by
// expert. Unpermute: moves every slot's output back to the receive order, then the unpack sums a
// weighted row per pair.
CopyBytes padded_copies(const CopyVolume& v) {
  return {(v.sent_rows + v.expert_rows) * v.hidden_row_bytes,
          (v.expert_rows + v.pairs) * v.hidden_row_bytes};
}

}  // namespace

StrategyDescriptor padded_strategy() {
  return {"padded",
          "GShard/Tutel: ceil(cf * tokens * k / E) slots per (source rank, expert), overflow "
          "dropped in token order, fixed-size all2all",
          {RowRule::kCapacitySlots, 0, padded_copies, /*expert_order_buffers=*/1},
          [] { return std::make_unique<PaddedExchange>(); },
          {PayloadType::kFp32, PayloadType::kBf16, PayloadType::kFp8}};
}

}  // namespace c2r
