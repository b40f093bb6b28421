// C2R/Occult-style rank-deduplicated exchange: a token goes once to each rank that owns any of its
// experts, carrying the local expert ids and gate weights of that rank inline; the destination runs
// each local expert on its rows, sums the weighted outputs per received row and returns one row per
// (token, rank), which the source sums. Rows travel in the payload type (PayloadRows); the inline
// ids and weights stay exact float32 words.

#include <cstring>

#include "collectives/strategy.hpp"
#include "kernels/cpu/permute.hpp"

namespace c2r {

namespace {

class DedupExchange : public ExchangeStrategy {
 public:
  void pack(const LayerInputs& in) override;
  const ExchangeLayout& plan_dispatch(const Communicator& comm) override;
  RowTransfer dispatch_rows() override {
    return {send_.bytes(), recv_.bytes(), &layout_, send_.row_bytes()};
  }
  void regroup() override;
  void compute_experts(const ExpertBank& bank, float* scratch,
                       const ProgressHook& progress) override;
  void reduce() override;
  RowTransfer combine_rows(const ExchangeLayout& layout) override;
  void unpack(const LayerInputs& in, float* y) override;

 private:
  // A dispatched row: [H floats of x | k int32 local expert ids (-1 = none) | k float weights].
  int64_t stride() const { return hidden_ + 2 * top_k_; }

  int ranks_ = 0;
  int experts_per_rank_ = 0;  // El
  int hidden_ = 0;
  int top_k_ = 0;
  RowFormat dispatch_format_, combine_format_;
  std::vector<int32_t> dest_of_row_;   // [<= T_r*k] destination rank of each (token, rank) row
  std::vector<int64_t> token_of_row_;  // [<= T_r*k] token of each row, in creation order
  std::vector<int64_t> row_of_slot_;   // [T_r*k] per token: its rows (creation order), then -1
  std::vector<int64_t> dest_offsets_;  // [R + 1]
  std::vector<int64_t> row_order_;     // [rows] rows in send order
  std::vector<int64_t> send_row_of_;   // [rows] send position of each row
  std::vector<int> send_counts_;       // [R] rows to each rank
  std::vector<int> recv_counts_;       // [R] rows from each rank
  AlltoallvLayout layout_;
  PayloadRows send_;  // [rows x stride]
  PayloadRows recv_;  // [received rows x stride]
  // Destination side: (received row, slot) -> expert-grouped rows.
  std::vector<int32_t> pair_expert_;           // [pairs] local expert of each received pair
  std::vector<int64_t> pair_slot_;             // [pairs] received row * k + slot of each pair
  std::vector<int64_t> expert_offsets_;        // [El + 1]
  std::vector<int64_t> pair_order_;            // [pairs] pairs grouped by local expert
  std::vector<int64_t> gathered_row_of_slot_;  // [received rows * k] row in gathered_, or -1
  std::vector<float> slot_weight_;             // [received rows * k]
  std::vector<float> gathered_;                // [pairs x H], grouped by local expert
  std::vector<float> expert_out_;              // [pairs x H]
  PayloadRows partial_sums_;                   // [received rows x H], sum of weighted local outputs
  PayloadRows returned_;                       // [rows x H], same order as send_
  std::vector<int64_t> gather_index_;          // [pairs] received row of each gathered row
  std::vector<ExpertGroup> groups_;            // [El], one contiguous block each
};

void DedupExchange::pack(const LayerInputs& in) {
  const Placement& placement = *in.placement;
  ranks_ = placement.ranks();
  experts_per_rank_ = placement.experts_per_rank();
  hidden_ = in.hidden;
  top_k_ = in.top_k;
  const int k = top_k_;
  dispatch_format_ = {in.dtype, hidden_, 2 * k};
  combine_format_ = {combine_type(in.dtype), hidden_, 0};
  const int64_t pairs = in.tokens * k;
  dest_of_row_.resize(pairs);
  token_of_row_.resize(pairs);
  row_of_slot_.resize(pairs);

  // One row per distinct destination rank of each token.
  int64_t rows = 0;
  for (int64_t t = 0; t < in.tokens; ++t) {
    int distinct = 0;
    for (int j = 0; j < k; ++j) {
      const int dest = placement.rank_of(in.expert_ids[t * k + j]);
      bool seen = false;
      for (int u = 0; u < distinct; ++u) seen |= dest_of_row_[row_of_slot_[t * k + u]] == dest;
      if (seen) continue;
      dest_of_row_[rows] = dest;
      token_of_row_[rows] = t;
      row_of_slot_[t * k + distinct++] = rows++;
    }
    for (int u = distinct; u < k; ++u) row_of_slot_[t * k + u] = -1;
  }

  dest_offsets_.resize(ranks_ + 1);
  row_order_.resize(rows);
  send_row_of_.resize(rows);
  stable_bucket_order(dest_of_row_.data(), rows, ranks_, dest_offsets_.data(), row_order_.data());
  send_.resize(dispatch_format_, rows);
  const size_t x_bytes = static_cast<size_t>(hidden_) * sizeof(float);
  for (int64_t i = 0; i < rows; ++i) {
    const int64_t row = row_order_[i];
    send_row_of_[row] = i;
    const int64_t t = token_of_row_[row];
    const int dest = dest_of_row_[row];
    float* out = send_.floats() + i * stride();
    std::memcpy(out, in.x + t * hidden_, x_bytes);
    float* weights = out + hidden_ + k;
    for (int j = 0; j < k; ++j) {
      const int e = in.expert_ids[t * k + j];
      const bool here = placement.rank_of(e) == dest;
      const int32_t id = here ? placement.local_index(e) : -1;
      std::memcpy(out + hidden_ + j, &id, sizeof(id));  // ids travel as raw 32-bit words
      weights[j] = here ? in.weights[t * k + j] : 0.0f;
    }
  }
  send_.encode();
  // The source sums the returned rows of each token: map slots to send positions.
  for (int64_t s = 0; s < pairs; ++s) {
    if (row_of_slot_[s] >= 0) row_of_slot_[s] = send_row_of_[row_of_slot_[s]];
  }
  send_counts_.resize(ranks_);
  for (int r = 0; r < ranks_; ++r) {
    send_counts_[r] = static_cast<int>(dest_offsets_[r + 1] - dest_offsets_[r]);
  }
}

const ExchangeLayout& DedupExchange::plan_dispatch(const Communicator& comm) {
  recv_counts_.resize(ranks_);
  comm.alltoall_ints(send_counts_.data(), 1, recv_counts_.data());
  if (static_cast<int>(layout_.send_rows.size()) != ranks_) layout_ = AlltoallvLayout(ranks_);
  for (int r = 0; r < ranks_; ++r) {
    layout_.send_rows[r] = send_counts_[r];
    layout_.recv_rows[r] = recv_counts_[r];
  }
  layout_.compute_offsets();
  recv_.resize(dispatch_format_, layout_.total_recv_rows());
  shape_.set(layout_, send_.row_bytes(), combine_format_.row_bytes());
  return shape_;
}

void DedupExchange::regroup() {
  const int k = top_k_;
  const int64_t received = layout_.total_recv_rows();
  pair_expert_.resize(received * k);
  pair_slot_.resize(received * k);
  slot_weight_.resize(received * k);
  int64_t pairs = 0;
  recv_.decode();
  for (int64_t i = 0; i < received; ++i) {
    const float* row = recv_.floats() + i * stride();
    const float* weights = row + hidden_ + k;
    for (int j = 0; j < k; ++j) {
      int32_t id;
      std::memcpy(&id, row + hidden_ + j, sizeof(id));
      slot_weight_[i * k + j] = weights[j];
      if (id < 0) continue;
      pair_expert_[pairs] = id;
      pair_slot_[pairs++] = i * k + j;
    }
  }
  expert_offsets_.resize(experts_per_rank_ + 1);
  pair_order_.resize(pairs);
  stable_bucket_order(pair_expert_.data(), pairs, experts_per_rank_, expert_offsets_.data(),
                      pair_order_.data());
  gathered_row_of_slot_.assign(received * k, -1);
  gather_index_.resize(pairs);
  for (int64_t g = 0; g < pairs; ++g) {
    const int64_t slot = pair_slot_[pair_order_[g]];
    gathered_row_of_slot_[slot] = g;
    gather_index_[g] = slot / k;
  }
  gathered_.resize(pairs * hidden_);
  gather_rows(recv_.floats(), stride(), gather_index_.data(), pairs, hidden_, gathered_.data(),
              hidden_);
}

void DedupExchange::compute_experts(const ExpertBank& bank, float* scratch,
                                    const ProgressHook& progress) {
  expert_out_.resize(gathered_.size());
  compute_expert_blocks(bank, expert_offsets_, hidden_, gathered_.data(), expert_out_.data(),
                        scratch, groups_, shape_, progress);
}

void DedupExchange::reduce() {
  const int64_t received = layout_.total_recv_rows();
  partial_sums_.resize(combine_format_, received);
  weighted_unpermute(expert_out_.data(), hidden_, gathered_row_of_slot_.data(), slot_weight_.data(),
                     received, top_k_, hidden_, partial_sums_.floats());
  partial_sums_.encode();
}

RowTransfer DedupExchange::combine_rows(const ExchangeLayout& layout) {
  returned_.resize(combine_format_, layout_.total_send_rows());
  return {partial_sums_.bytes(), returned_.bytes(), &layout.combine, layout.combine_row_bytes};
}

void DedupExchange::unpack(const LayerInputs& in, float* y) {
  returned_.decode();
  weighted_unpermute(returned_.floats(), hidden_, row_of_slot_.data(), nullptr, in.tokens, top_k_,
                     hidden_, y);
}

// Packs the sent rows, then gathers each local expert's rows; reduces one sum per received row
// and unpacks one per sent row.
CopyBytes dedup_copies(const CopyVolume& v) {
  return {v.sent_rows * v.dispatch_row_bytes + v.expert_rows * v.hidden_row_bytes,
          (v.expert_rows + v.sent_rows) * v.hidden_row_bytes};
}

}  // namespace

StrategyDescriptor dedup_strategy() {
  // Inline per slot: its local expert id and its gate weight.
  return {"dedup",
          "C2R: one row per (token, destination rank) carrying its local expert ids and weights; "
          "the destination sums its experts' weighted outputs and returns one row",
          {RowRule::kPerDestinationRank, 2, dedup_copies, /*expert_order_buffers=*/2},
          [] { return std::make_unique<DedupExchange>(); },
          {PayloadType::kFp32, PayloadType::kBf16, PayloadType::kFp8}};
}

}  // namespace c2r
