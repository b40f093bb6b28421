#pragma once
// GShard/Tutel-style padded exchange: every (source rank, expert) gets `capacity` slots; pairs past
// it are dropped in token order; unused slots are zero padding that is sent and computed like real
// rows; one fixed-size all2all each way, no counts.

#include "collectives/strategy.hpp"

namespace c2r {

class PaddedExchange : public ExchangeStrategy {
 public:
  StrategyKind kind() const override { return StrategyKind::kPadded; }
  void pack(const LayerInputs& in) override;
  void dispatch(const Communicator& comm) override;
  void compute_experts(const ExpertBank& bank, float* scratch) override;
  void combine(const Communicator& comm) override;
  void unpack(const LayerInputs& in, float* y) override;
  bool pair_kept(int64_t pair) const override { return row_of_pair_[pair] >= 0; }

 private:
  int ranks_ = 0;
  int experts_per_rank_ = 0;  // El
  int hidden_ = 0;
  int64_t capacity_ = 0;              // C, slots per (source rank, expert)
  AlltoallvLayout layout_;            // every peer: El*C rows each way
  std::vector<int64_t> filled_;       // [R*El] slots used per destination slot (rank, local expert)
  std::vector<int64_t> row_of_pair_;  // [T_r*k] send row of each pair, -1 if dropped
  std::vector<float> send_;           // [R x El x C x H]
  std::vector<float> recv_;           // [R sources x El x C x H]
  std::vector<float> expert_out_;     // same layout as recv_
  std::vector<float> returned_;       // same layout as send_
  std::vector<ExpertGroup> groups_;   // [El], one block of C rows per source rank
};

}  // namespace c2r
