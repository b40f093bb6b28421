#pragma once
// MegaBlocks-style dropless exchange, the baseline: one row per (token, expert) pair, ordered by
// destination rank then expert, counts exchanged first, then one all2allv each way.

#include "collectives/strategy.hpp"

namespace c2r {

class DroplessExchange : public ExchangeStrategy {
 public:
  StrategyKind kind() const override { return StrategyKind::kDropless; }
  void pack(const LayerInputs& in) override;
  void dispatch(const Communicator& comm) override;
  void compute_experts(const ExpertBank& bank, float* scratch) override;
  void combine(const Communicator& comm) override;
  void unpack(const LayerInputs& in, float* y) override;

 private:
  int ranks_ = 0;
  int experts_per_rank_ = 0;  // El
  int hidden_ = 0;
  std::vector<int32_t> slot_of_pair_;  // [T_r*k] destination slot = rank * El + local expert
  std::vector<int64_t> slot_offsets_;  // [R*El + 1] first send row of each slot
  std::vector<int64_t> pair_order_;    // [T_r*k] pairs in send order
  std::vector<int64_t> row_of_pair_;   // [T_r*k] send row of each pair
  std::vector<int> send_counts_;       // [R x El] rows for each (destination, its local expert)
  std::vector<int> recv_counts_;       // [R x El] rows from each (source, my local expert)
  AlltoallvLayout layout_;
  std::vector<float> send_;          // [T_r*k x H]
  std::vector<float> recv_;          // [received rows x H], source-major, expert within
  std::vector<float> expert_out_;    // [received rows x H], same layout as recv_
  std::vector<float> returned_;      // [T_r*k x H], same layout as send_
  std::vector<ExpertGroup> groups_;  // [El], one block per source rank
};

}  // namespace c2r
