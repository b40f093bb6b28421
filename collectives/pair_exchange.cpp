#include "collectives/pair_exchange.hpp"

#include "kernels/cpu/permute.hpp"

namespace c2r {

void PairExchange::regroup() {
  const int blocks = ranks_ * experts_per_rank_;
  recv_row_of_block_.resize(blocks);
  expert_row_of_block_.resize(blocks);
  expert_offsets_.assign(experts_per_rank_ + 1, 0);
  int64_t row = 0;
  for (int b = 0; b < blocks; ++b) {
    recv_row_of_block_[b] = row;
    row += block_rows_[b];
    expert_offsets_[b % experts_per_rank_ + 1] += block_rows_[b];
  }
  for (int le = 0; le < experts_per_rank_; ++le) expert_offsets_[le + 1] += expert_offsets_[le];
  // Within an expert, source ranks in order.
  for (int le = 0; le < experts_per_rank_; ++le) {
    int64_t at = expert_offsets_[le];
    for (int s = 0; s < ranks_; ++s) {
      expert_row_of_block_[s * experts_per_rank_ + le] = at;
      at += block_rows_[s * experts_per_rank_ + le];
    }
  }
  grouped_.resize(row * hidden_);
  recv_.decode();
  copy_row_blocks(recv_.floats(), recv_row_of_block_.data(), block_rows_.data(), blocks, hidden_,
                  grouped_.data(), expert_row_of_block_.data());
}

void PairExchange::compute_experts(const ExpertBank& bank, float* scratch,
                                   const ProgressHook& progress) {
  expert_out_.resize(grouped_.size());
  compute_expert_blocks(bank, expert_offsets_, hidden_, grouped_.data(), expert_out_.data(),
                        scratch, groups_, shape_, progress);
}

void PairExchange::reduce() {
  // The received rows were copied out by regroup(): their buffer now holds the outputs, in the
  // combine rows' type.
  recv_.resize(combine_format_, recv_.rows());
  copy_row_blocks(expert_out_.data(), expert_row_of_block_.data(), block_rows_.data(),
                  ranks_ * experts_per_rank_, hidden_, recv_.floats(), recv_row_of_block_.data());
  recv_.encode();
}

void PairExchange::unpack(const LayerInputs& in, float* y) {
  returned_.decode();
  weighted_unpermute(returned_.floats(), hidden_, row_of_pair_.data(), in.weights, in.tokens,
                     in.top_k, hidden_, y);
}

}  // namespace c2r
