#pragma once
// C2R/Occult-style rank-deduplicated exchange: a token goes once to each rank that owns any of its
// experts, carrying the local expert ids and gate weights of that rank inline; the destination runs
// each local expert on its rows, sums the weighted outputs per received row and returns one row per
// (token, rank), which the source sums.

#include "collectives/strategy.hpp"

namespace c2r {

class DedupExchange : public ExchangeStrategy {
 public:
  StrategyKind kind() const override { return StrategyKind::kDedup; }
  void pack(const LayerInputs& in) override;
  void dispatch(const Communicator& comm) override;
  void regroup() override;
  void compute_experts(const ExpertBank& bank, float* scratch) override;
  void reduce() override;
  void combine(const Communicator& comm) override;
  void unpack(const LayerInputs& in, float* y) override;

 private:
  // A dispatched row: [H floats of x | k int32 local expert ids (-1 = none) | k float weights].
  int64_t stride() const { return hidden_ + 2 * top_k_; }

  int ranks_ = 0;
  int experts_per_rank_ = 0;  // El
  int hidden_ = 0;
  int top_k_ = 0;
  std::vector<int32_t> dest_of_row_;   // [<= T_r*k] destination rank of each (token, rank) row
  std::vector<int64_t> token_of_row_;  // [<= T_r*k] token of each row, in creation order
  std::vector<int64_t> row_of_slot_;   // [T_r*k] per token: its rows (creation order), then -1
  std::vector<int64_t> dest_offsets_;  // [R + 1]
  std::vector<int64_t> row_order_;     // [rows] rows in send order
  std::vector<int64_t> send_row_of_;   // [rows] send position of each row
  std::vector<int> send_counts_;       // [R] rows to each rank
  std::vector<int> recv_counts_;       // [R] rows from each rank
  AlltoallvLayout layout_;
  std::vector<float> send_;  // [rows x stride]
  std::vector<float> recv_;  // [received rows x stride]
  // Destination side: (received row, slot) -> expert-grouped rows.
  std::vector<int32_t> pair_expert_;           // [pairs] local expert of each received pair
  std::vector<int64_t> pair_slot_;             // [pairs] received row * k + slot of each pair
  std::vector<int64_t> expert_offsets_;        // [El + 1]
  std::vector<int64_t> pair_order_;            // [pairs] pairs grouped by local expert
  std::vector<int64_t> gathered_row_of_slot_;  // [received rows * k] row in gathered_, or -1
  std::vector<float> slot_weight_;             // [received rows * k]
  std::vector<float> gathered_;                // [pairs x H], grouped by local expert
  std::vector<float> expert_out_;              // [pairs x H]
  std::vector<float> partial_sums_;            // [received rows x H], sum of weighted local outputs
  std::vector<float> returned_;                // [rows x H], same order as send_
  std::vector<int64_t> gather_index_;          // [pairs] received row of each gathered row
  std::vector<ExpertGroup> groups_;            // [El], one contiguous block each
};

}  // namespace c2r
