#pragma once
// The CPU steps shared by strategies that send one row per (token, expert) slot (dropless,
// padded). Both receive their rows source-major, local expert within; like MegaBlocks they then
// regroup them by expert (a local permute after the all2all), run one SwiGLU GEMM pair per local
// expert over its whole block, and permute the outputs back to the receive order before the
// return all2all, so that each expert's weights stream once per layer whatever the rank count.
// combine returns the outputs into returned_ in the send layout, and the unpack sums each pair's
// returned row, found at row_of_pair_[pair] (-1: dropped), with the pair's gate weight. Rows travel
// in the payload type (PayloadRows): the received rows are decoded by the regroup, the expert
// outputs encoded by the reduce, the returned rows decoded by the unpack.

#include <cstdint>
#include <vector>

#include "collectives/strategy.hpp"
#include "kernels/cpu/expert_ffn.hpp"

namespace c2r {

class PairExchange : public ExchangeStrategy {
 public:
  // Gathers the received rows into one contiguous block per local expert (by local expert, then
  // source rank). Charged to the permute phase.
  void regroup() override;
  // One SwiGLU GEMM pair per local expert over its whole block (chunked past kFfnChunkRows rows).
  void compute_experts(const ExpertBank& bank, float* scratch,
                       const ProgressHook& progress) override;
  // Scatters the expert outputs back to the receive order, into recv_, which combine sends.
  // Charged to the unpermute phase.
  void reduce() override;
  void unpack(const LayerInputs& in, float* y) override;

 protected:
  // The rows' formats for this layer's payload type (call from pack()).
  void set_formats(const LayerInputs& in) {
    dispatch_format_ = {in.dtype, in.hidden, 0};
    combine_format_ = {combine_type(in.dtype), in.hidden, 0};
  }

  RowFormat dispatch_format_, combine_format_;
  int ranks_ = 0;
  int experts_per_rank_ = 0;  // El
  int hidden_ = 0;            // H
  // Set by dispatch(): received rows of (source rank s, local expert le) at s * El + le.
  std::vector<int64_t> block_rows_;   // [R x El]
  std::vector<int64_t> row_of_pair_;  // [T_r*k] send row of each pair, -1 if dropped
  // [received rows x H] in receive order (source-major, local expert within): the dispatched rows,
  // then, after reduce(), their expert outputs, which combine sends back.
  PayloadRows recv_;
  PayloadRows returned_;  // [sent rows x H], the send layout

 private:
  std::vector<int64_t> recv_row_of_block_;    // [R x El] first receive row of each block
  std::vector<int64_t> expert_row_of_block_;  // [R x El] first row of each block in grouped_
  std::vector<int64_t> expert_offsets_;       // [El + 1] first row of each local expert in grouped_
  std::vector<float> grouped_;       // [received rows x H], by local expert, then source rank
  std::vector<float> expert_out_;    // [received rows x H], same layout as grouped_
  std::vector<ExpertGroup> groups_;  // [El], one block each
};

}  // namespace c2r
