#pragma once
// Exchange strategies: how a rank's (token, expert) pairs travel to the experts' ranks and back.
// Every strategy sees the same routing, placement and kernels; only the exchange differs.
//   padded   - GShard/Tutel: fixed capacity per (source rank, expert), overflow dropped, fixed
//   all2all dropless - MegaBlocks: one row per (token, expert) pair, variable counts (the baseline)
//   dedup    - C2R/Occult: one row per (token, destination rank); the destination sums its local
//              experts' weighted outputs and returns one row per (token, rank)
//
// One layer runs as: pack -> dispatch -> regroup -> compute_experts -> reduce -> combine -> unpack.
// The harness times pack+regroup as "permute" and reduce+unpack as "unpermute". Buffers are sized
// by the first run of a cell (a warm-up); later runs of the same routing reuse them without
// allocating.

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "collectives/communicator.hpp"
#include "kernels/cpu/expert_ffn.hpp"
#include "tuner/placement.hpp"

namespace c2r {

enum class StrategyKind { kPadded, kDropless, kDedup };

std::vector<std::string> strategy_names();
// Throws c2r::Error naming the known strategies.
StrategyKind parse_strategy(const std::string& name);
std::string to_string(StrategyKind kind);

// One rank's view of one layer. Routing buffers are rewritten by the gate every iteration (with
// identical contents), so the strategy keeps the pointers, not copies.
struct LayerInputs {
  int64_t tokens = 0;                   // T_r, tokens on this rank
  int hidden = 0;                       // H
  int top_k = 0;                        // k
  const float* x = nullptr;             // [tokens x hidden]
  const int32_t* expert_ids = nullptr;  // [tokens x top_k]
  const float* weights = nullptr;       // [tokens x top_k]
  const Placement* placement = nullptr;
  double capacity_factor = 1.0;  // padded only
  // padded only: the token count the capacity is computed from, the same on every rank (the
  // largest rank's tokens) so that every rank exchanges blocks of the same size. 0: `tokens`.
  int64_t capacity_tokens = 0;
};

// Weights of this rank's experts, indexed by local expert index.
struct ExpertBank {
  std::vector<const FfnWeights*> local;  // [experts_per_rank]
};

// What one layer moved and computed on this rank (set by prepare()).
struct ExchangeShape {
  AlltoallvLayout dispatch;  // rows to / from every rank on the way out
  AlltoallvLayout combine;   // rows to / from every rank on the way back
  int64_t dispatch_row_bytes = 0;
  int64_t combine_row_bytes = 0;
  std::vector<int64_t> rows_per_local_expert;  // rows each local expert computes (padding included)
  int64_t pairs_dropped = 0;                   // this rank's pairs that were dropped (padded)
};

class ExchangeStrategy {
 public:
  virtual ~ExchangeStrategy() = default;
  virtual StrategyKind kind() const = 0;

  // The steps of one layer, in this order.
  virtual void pack(const LayerInputs& in) = 0;
  virtual void dispatch(const Communicator& comm) = 0;
  virtual void regroup() {}
  virtual void compute_experts(const ExpertBank& bank, float* scratch) = 0;
  virtual void reduce() {}
  virtual void combine(const Communicator& comm) = 0;
  // y: [tokens x hidden], the layer output (routed experts only).
  virtual void unpack(const LayerInputs& in, float* y) = 0;

  const ExchangeShape& shape() const { return shape_; }
  // Whether pair p = t * top_k + j reached its expert (false only for padded overflow).
  virtual bool pair_kept(int64_t pair) const {
    (void)pair;
    return true;
  }

 protected:
  // An MPI row datatype of `bytes`, created once and reused by every later call.
  const RowType& row_type(int64_t bytes);
  // Records the dispatch layout and its reverse as this layer's exchange shape, reusing storage.
  void record_layouts(const AlltoallvLayout& dispatch, int64_t dispatch_row_bytes,
                      int64_t combine_row_bytes);

  ExchangeShape shape_;

 private:
  std::map<int64_t, std::unique_ptr<RowType>> row_types_;
};

std::unique_ptr<ExchangeStrategy> make_strategy(StrategyKind kind);

// Capacity slots per (source rank, expert) for the padded strategy: ceil(cf * T * k / E), >= 1,
// with T the largest rank's tokens.
int64_t padded_capacity(double capacity_factor, int64_t tokens, int top_k, int experts);

}  // namespace c2r
