#include "collectives/padded.hpp"

#include <algorithm>
#include <cstring>

#include "kernels/cpu/permute.hpp"

namespace c2r {

void PaddedExchange::pack(const LayerInputs& in) {
  const Placement& placement = *in.placement;
  ranks_ = placement.ranks();
  experts_per_rank_ = placement.experts_per_rank();
  hidden_ = in.hidden;
  capacity_ =
      padded_capacity(in.capacity_factor, in.capacity_tokens > 0 ? in.capacity_tokens : in.tokens,
                      in.top_k, placement.experts());
  const int slots = ranks_ * experts_per_rank_;
  const int64_t pairs = in.tokens * in.top_k;
  filled_.assign(slots, 0);
  row_of_pair_.resize(pairs);
  send_.resize(slots * capacity_ * hidden_);

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
    std::memcpy(&send_[row * hidden_], in.x + (p / in.top_k) * hidden_, row_bytes);
  }
  for (int slot = 0; slot < slots; ++slot) {
    float* padding = send_.data() + (slot * capacity_ + filled_[slot]) * hidden_;
    std::fill(padding, padding + (capacity_ - filled_[slot]) * hidden_, 0.0f);
  }
  shape_.pairs_dropped = dropped;
}

void PaddedExchange::dispatch(const Communicator& comm) {
  const int64_t rows_per_peer = experts_per_rank_ * capacity_;
  recv_.resize(send_.size());
  const int64_t row_bytes = static_cast<int64_t>(hidden_) * sizeof(float);
  comm.alltoall_rows(send_.data(), static_cast<int>(rows_per_peer), recv_.data(),
                     row_type(row_bytes));
  if (static_cast<int>(layout_.send_rows.size()) != ranks_) layout_ = AlltoallvLayout(ranks_);
  std::fill(layout_.send_rows.begin(), layout_.send_rows.end(), static_cast<int>(rows_per_peer));
  std::fill(layout_.recv_rows.begin(), layout_.recv_rows.end(), static_cast<int>(rows_per_peer));
  layout_.compute_offsets();
  record_layouts(layout_, row_bytes, row_bytes);
}

void PaddedExchange::compute_experts(const ExpertBank& bank, float* scratch) {
  expert_out_.resize(recv_.size());
  groups_.resize(experts_per_rank_);
  shape_.rows_per_local_expert.assign(experts_per_rank_, ranks_ * capacity_);
  for (int le = 0; le < experts_per_rank_; ++le) {
    groups_[le].weights = bank.local[le];
    groups_[le].blocks.resize(ranks_);
    for (int s = 0; s < ranks_; ++s) {
      const int64_t row = (static_cast<int64_t>(s) * experts_per_rank_ + le) * capacity_;
      groups_[le].blocks[s] =
          RowBlock{&recv_[row * hidden_], hidden_, &expert_out_[row * hidden_], hidden_, capacity_};
    }
  }
  grouped_swiglu_ffn(groups_, scratch);
}

void PaddedExchange::combine(const Communicator& comm) {
  returned_.resize(send_.size());
  comm.alltoall_rows(expert_out_.data(), static_cast<int>(experts_per_rank_ * capacity_),
                     returned_.data(), row_type(shape_.combine_row_bytes));
}

void PaddedExchange::unpack(const LayerInputs& in, float* y) {
  weighted_unpermute(returned_.data(), hidden_, row_of_pair_.data(), in.weights, in.tokens,
                     in.top_k, hidden_, y);
}

}  // namespace c2r
