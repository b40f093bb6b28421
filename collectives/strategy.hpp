#pragma once
// Exchange strategies: how a rank's (token, expert) pairs travel to the experts' ranks and back.
// Every strategy sees the same routing, placement and kernels; only the exchange differs.
//
// A strategy is one StrategyDescriptor, registered once (collectives/strategy_registry.cpp): its
// name and help text, the rules the tuner's cost model, the placement search and the memory
// estimate use, and its CPU steps. The command line, the help, the tuner and the reports ask the
// registry; nothing else names a strategy. docs/ARCHITECTURE.md has the checklist for adding one.
//
// One layer runs as: pack -> dispatch -> regroup -> compute_experts -> reduce -> combine -> unpack
// (bench/layer_steps.hpp times them). dispatch() produces the exchange layout (counts, offsets,
// row sizes each way), which combine() and the same-run ceilings consume; an overlapped layer runs
// one strategy per token chunk and keeps the row exchanges in flight (ExchangeStrategy). Buffers
// are sized by the first run of a cell (a warm-up); later runs of the same routing reuse them
// without allocating.

#include <algorithm>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "common/communicator.hpp"
#include "kernels/cpu/expert_ffn.hpp"
#include "kernels/cpu/row_codec.hpp"
#include "model/placement.hpp"

namespace c2r {

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
  double capacity_factor = 1.0;  // capacity-limited strategies only
  // Capacity-limited strategies only: the token count the capacity is computed from, the same on
  // every rank (the largest rank's tokens) so that every rank exchanges blocks of the same size.
  // 0: `tokens`.
  int64_t capacity_tokens = 0;
  // Of the rows that travel: dispatch rows in `dtype`, combine rows in combine_type(dtype).
  PayloadType dtype = PayloadType::kFp32;
};

// Weights of this rank's experts, indexed by local expert index.
struct ExpertBank {
  std::vector<const FfnWeights*> local;  // [experts_per_rank]
};

// The exchange plan of one layer on this rank: which rows go to and come from every peer, and
// their size. dispatch() produces it once the counts are known; combine() sends the rows back
// along its reverse; the same-run ceilings replay both.
struct ExchangeLayout {
  AlltoallvLayout dispatch;  // rows to / from every rank on the way out
  AlltoallvLayout combine;   // rows to / from every rank on the way back: dispatch reversed
  int64_t dispatch_row_bytes = 0;
  int64_t combine_row_bytes = 0;

  // Sets `dispatch` and its reverse as `combine`, reusing storage.
  void set(const AlltoallvLayout& dispatch_rows, int64_t dispatch_bytes, int64_t combine_bytes);
};

// The layout and what the layer computed and dropped on this rank.
struct ExchangeShape : ExchangeLayout {
  std::vector<int64_t> rows_per_local_expert;  // rows each local expert computes (padding incl.)
  int64_t pairs_dropped = 0;                   // this rank's pairs that were dropped
  // GEMM pairs (x * [W_gate|W_up], then h * W_down) the expert step ran: one per local expert with
  // rows when each expert's rows are one block, more when they are split (by source rank, or
  // past kFfnChunkRows rows).
  int64_t expert_gemm_pairs = 0;
};

// One exchange buffer: rows a strategy writes or reads as float32, [rows x (hidden + inline)], and
// sends or receives in the payload type, [rows x row_bytes]. For fp32 both are the same memory;
// otherwise encode() converts the floats into the bytes that travel (after packing) and decode()
// the bytes received into floats (before reading them): the CPU computes in fp32.
class PayloadRows {
 public:
  // Sizes the buffer (keeping capacity) for `rows` rows of `format`.
  void resize(const RowFormat& format, int64_t rows);
  float* floats() { return format_.type == PayloadType::kFp32 ? storage() : floats_.data(); }
  uint8_t* bytes() { return reinterpret_cast<uint8_t*>(storage()); }
  int64_t row_bytes() const { return format_.row_bytes(); }
  int64_t rows() const { return rows_; }
  void encode();
  void decode();

 private:
  float* storage() { return bytes_.data(); }

  RowFormat format_;
  int64_t rows_ = 0;
  std::vector<float> bytes_;   // [rows x row_bytes / 4]: what travels (float storage: aligned)
  std::vector<float> floats_;  // [rows x (hidden + inline)], only when the type is not fp32
};

// The rows one exchange moves: `layout` rows of `row_bytes` from `send` to every peer and into
// `recv` from every peer. A fixed-size exchange sends layout.send_rows[0] rows to every peer
// (MPI_Alltoall); otherwise the counts vary by peer (MPI_Alltoallv).
struct RowTransfer {
  const void* send = nullptr;
  void* recv = nullptr;
  const AlltoallvLayout* layout = nullptr;
  int64_t row_bytes = 0;
  bool fixed_size = false;
};

// The CPU steps of one strategy (OpenBLAS kernels, MPI exchange).
//
// An exchange is split in two so that a layer can run it blocking (dispatch(), combine()) or keep
// it in flight while experts compute (bench/cpu_layer.cpp, --overlap): plan_dispatch() exchanges
// the row counts (blocking; none for a fixed-size exchange) and sizes the receive buffer;
// dispatch_rows() and combine_rows() name the buffers and layout of the rows each way, which the
// caller sends with MPI_Alltoallv (or MPI_Alltoall), blocking or not.
class ExchangeStrategy {
 public:
  virtual ~ExchangeStrategy() = default;

  // The steps of one layer, in this order.
  virtual void pack(const LayerInputs& in) = 0;
  // Exchanges the counts (variable-size strategies), sizes the receive buffer; returns the layout.
  virtual const ExchangeLayout& plan_dispatch(const Communicator& comm) = 0;
  // The dispatched rows: the packed send buffer into the buffer plan_dispatch() sized.
  virtual RowTransfer dispatch_rows() = 0;
  virtual void regroup() {}
  // The local experts on the received rows; `progress` between their GEMMs (may be empty).
  virtual void compute_experts(const ExpertBank& bank, float* scratch,
                               const ProgressHook& progress = {}) = 0;
  virtual void reduce() {}
  // Sizes the buffer the returned rows land in; the expert outputs going back along `layout`
  // (the one plan_dispatch() returned), reversed.
  virtual RowTransfer combine_rows(const ExchangeLayout& layout) = 0;
  // y: [tokens x hidden], the layer output (routed experts only).
  virtual void unpack(const LayerInputs& in, float* y) = 0;

  // The blocking exchanges (MPI_Alltoallv, or MPI_Alltoall when fixed-size): plan_dispatch() then
  // the rows; combine_rows() sent and received.
  const ExchangeLayout& dispatch(const Communicator& comm);
  void combine(const Communicator& comm, const ExchangeLayout& layout);
  void exchange_rows(const Communicator& comm, const RowTransfer& transfer);
  // The same rows started non-blocking (MPI_Ialltoallv, MPI_Ialltoall), for a layer that overlaps
  // them with compute.
  PendingExchange start_rows(const Communicator& comm, const RowTransfer& transfer);

  const ExchangeShape& shape() const { return shape_; }
  // Whether pair p = t * top_k + j reached its expert (false only for capacity overflow).
  virtual bool pair_kept(int64_t pair) const {
    (void)pair;
    return true;
  }

 protected:
  // An MPI row datatype of `bytes`, created once and reused by every later call.
  const RowType& row_type(int64_t bytes);

  ExchangeShape shape_;

 private:
  std::map<int64_t, std::unique_ptr<RowType>> row_types_;
};

// How many rows a strategy sends for one token.
enum class RowRule {
  kPerPair,             // one row per (token, expert) pair
  kPerDestinationRank,  // one row per (token, rank owning any of its experts)
  kCapacitySlots,       // a fixed capacity of slots per (source rank, expert), used or not; pairs
                        // past it are dropped, and the placement changes no traffic
};

// One rank's copy work in one layer, for the cost model's permute and unpermute terms.
struct CopyVolume {
  double tokens = 0;       // this rank's tokens
  double pairs = 0;        // tokens x k
  double sent_rows = 0;    // rows this rank dispatches
  double expert_rows = 0;  // rows this rank's experts compute
  double dispatch_row_bytes = 0;
  double hidden_row_bytes = 0;  // H floats
};
struct CopyBytes {
  double permute = 0, unpermute = 0;
};

// What the tuner's cost model, the placement search and the memory estimate know of a strategy
// (docs/TUNING.md derives the terms).
struct ExchangeRules {
  RowRule rows = RowRule::kPerPair;
  // Floats a dispatched row carries besides the H of the token, per routed slot of the token (k of
  // them): the rank-deduplicated row carries each slot's local expert id and gate weight inline.
  int inline_floats_per_slot = 0;
  // Bytes packed and unpacked on one rank (permute: send buffer, regroup; unpermute: reduce,
  // unpack).
  std::function<CopyBytes(const CopyVolume&)> copy_bytes;
  // Buffers of [expert rows x H] floats the destination holds besides the exchange's four (sent,
  // received, expert output, returned), for the memory estimate: dropless and padded keep their
  // received rows regrouped by local expert; dedup its gathered pairs and its per-row sums.
  int expert_order_buffers = 0;

  // Variable-size exchanges all2all their row counts before the rows.
  bool exchanges_counts() const { return rows != RowRule::kCapacitySlots; }
  // Whether the placement changes the traffic: what the placement search can optimise.
  bool placement_sensitive() const { return rows != RowRule::kCapacitySlots; }
  bool capacity_limited() const { return rows == RowRule::kCapacitySlots; }
  int64_t dispatch_row_floats(int hidden, int top_k) const {
    return hidden + static_cast<int64_t>(inline_floats_per_slot) * top_k;
  }
  // The rows as they travel: a dispatched row in `dtype`, its inline floats exact; a returned
  // row, H values in combine_type(dtype).
  RowFormat dispatch_format(int hidden, int top_k, PayloadType dtype) const {
    return {dtype, hidden, inline_floats_per_slot * top_k};
  }
  static RowFormat combine_format(int hidden, PayloadType dtype) {
    return {combine_type(dtype), hidden, 0};
  }
};

struct StrategyDescriptor {
  std::string name;  // as typed after --strategy and written in reports
  std::string help;  // one line for --help
  ExchangeRules rules;
  std::function<std::unique_ptr<ExchangeStrategy>()> make_cpu;  // its CPU steps
  // The payload types its steps send (LayerInputs::dtype); a run asking for another is refused.
  std::vector<PayloadType> payload_types = {PayloadType::kFp32};
  bool sends(PayloadType type) const {
    for (PayloadType t : payload_types) {
      if (t == type) return true;
    }
    return false;
  }
};

// The registered strategies, in registration order (the built-in ones first).
const std::vector<const StrategyDescriptor*>& strategies();
std::vector<std::string> strategy_names();
// Throws c2r::Error naming the known strategies.
const StrategyDescriptor& find_strategy(const std::string& name);
// The baseline every report compares against (MegaBlocks-style dropless).
const StrategyDescriptor& baseline_strategy();
// The first registered capacity-limited strategy, whose capacity factor the tuner chooses.
const StrategyDescriptor& capacity_strategy();
// Adds a strategy (a program's own, e.g. a test's), before any command runs. Throws c2r::Error on
// a duplicate name or a descriptor without CPU steps or copy rules.
void register_strategy(StrategyDescriptor descriptor);
// "padded: ...\ndropless: ..." for --help.
std::string strategy_help();

inline const std::string& to_string(const StrategyDescriptor* strategy) {
  return strategy->name;
}

// The expert step of a strategy whose received rows are in expert order: one SwiGLU GEMM pair per
// local expert over its contiguous block, as MegaBlocks runs one grouped GEMM per expert.
// rows, out: [N x H], local expert le's rows at [offsets[le], offsets[le + 1]); offsets: [El + 1].
// groups: the caller's reused [El] descriptors. Sets shape's rows_per_local_expert and
// expert_gemm_pairs. `progress` between GEMMs (may be empty).
void compute_expert_blocks(const ExpertBank& bank, const std::vector<int64_t>& offsets, int hidden,
                           const float* rows, float* out, float* scratch,
                           std::vector<ExpertGroup>& groups, ExchangeShape& shape,
                           const ProgressHook& progress);

// Part `index` of `tokens` split evenly into `chunks` parts (the first tokens % chunks parts one
// more): tokens [first, first + count). How a pipelined layer (run --overlap) splits a rank's
// tokens, and the tuner and the memory estimate size its chunks; the expert ceilings share a
// rank's rows among its experts the same way.
struct TokenChunk {
  int64_t first = 0, count = 0;
};
inline TokenChunk token_chunk(int64_t tokens, int chunks, int index) {
  const int64_t base = tokens / chunks, extra = tokens % chunks;
  return {index * base + std::min<int64_t>(index, extra), base + (index < extra ? 1 : 0)};
}

// Capacity slots per (source rank, expert) of a capacity-limited strategy: ceil(cf * T * k / E),
// >= 1, with T the largest rank's tokens.
int64_t padded_capacity(double capacity_factor, int64_t tokens, int top_k, int experts);

}  // namespace c2r
