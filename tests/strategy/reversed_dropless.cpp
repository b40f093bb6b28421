// NAME     c2rbench_test_strategy - c2rbench with one more exchange strategy, registered here
// PURPOSE  Shows that a strategy is one file plus one registration line: `reversed-dropless` is
//          the dropless exchange with another pack order (each destination slot holds its pairs
//          in reverse token order), and nothing outside this file knows of it. The MPI tests run
//          it through `run --check` (its output against the serial reference, its traffic equal
//          to dropless's), `tune` (cost model and placement search) and the memory estimate.
// USAGE    mpirun -np R c2rbench_test_strategy run --strategy reversed-dropless,dropless --check

#include <algorithm>
#include <memory>
#include <vector>

#include "cli/cli.hpp"
#include "collectives/strategy.hpp"
#include "kernels/cpu/permute.hpp"

namespace c2r {
namespace {

class ReversedDropless final : public ExchangeStrategy {
 public:
  void pack(const LayerInputs& in) override {
    const Placement& placement = *in.placement;
    ranks_ = placement.ranks();
    local_ = placement.experts_per_rank();
    hidden_ = in.hidden;
    const int64_t pairs = in.tokens * in.top_k;
    const int slots = ranks_ * local_;
    // Keys of the pairs in reverse order: the stable bucket order then keeps later pairs first.
    reversed_keys_.resize(pairs);
    for (int64_t i = 0; i < pairs; ++i) {
      const int e = in.expert_ids[pairs - 1 - i];
      reversed_keys_[i] = placement.rank_of(e) * local_ + placement.local_index(e);
    }
    slot_offsets_.resize(slots + 1);
    order_.resize(pairs);
    stable_bucket_order(reversed_keys_.data(), pairs, slots, slot_offsets_.data(), order_.data());
    row_of_pair_.resize(pairs);
    send_.resize(pairs * hidden_);
    for (int64_t row = 0; row < pairs; ++row) {
      const int64_t p = pairs - 1 - order_[row];
      row_of_pair_[p] = row;
      std::copy_n(in.x + (p / in.top_k) * hidden_, hidden_, &send_[row * hidden_]);
    }
    send_counts_.resize(slots);
    for (int s = 0; s < slots; ++s) {
      send_counts_[s] = static_cast<int>(slot_offsets_[s + 1] - slot_offsets_[s]);
    }
  }

  const ExchangeLayout& plan_dispatch(const Communicator& comm) override {
    recv_counts_.resize(send_counts_.size());
    comm.alltoall_ints(send_counts_.data(), local_, recv_counts_.data());
    AlltoallvLayout& rows = layout_;
    rows = AlltoallvLayout(ranks_);
    for (int r = 0; r < ranks_; ++r) {
      for (int le = 0; le < local_; ++le) {
        rows.send_rows[r] += send_counts_[r * local_ + le];
        rows.recv_rows[r] += recv_counts_[r * local_ + le];
      }
    }
    rows.compute_offsets();
    recv_.resize(rows.total_recv_rows() * hidden_);
    const int64_t row_bytes = static_cast<int64_t>(hidden_) * sizeof(float);
    shape_.set(rows, row_bytes, row_bytes);
    return shape_;
  }

  RowTransfer dispatch_rows() override {
    return {send_.data(), recv_.data(), &layout_, static_cast<int64_t>(sizeof(float)) * hidden_};
  }

  // One group per local expert, one block per source rank (source-major, expert within).
  void compute_experts(const ExpertBank& bank, float* scratch,
                       const ProgressHook& progress) override {
    expert_out_.resize(recv_.size());
    std::vector<ExpertGroup> groups(local_);
    shape_.rows_per_local_expert.assign(local_, 0);
    int64_t row = 0;
    for (int s = 0; s < ranks_; ++s) {
      for (int le = 0; le < local_; ++le) {
        const int64_t rows = recv_counts_[s * local_ + le];
        groups[le].weights = bank.local[le];
        groups[le].blocks.push_back(RowBlock{recv_.data() + row * hidden_, hidden_,
                                             expert_out_.data() + row * hidden_, hidden_, rows});
        shape_.rows_per_local_expert[le] += rows;
        row += rows;
      }
    }
    grouped_swiglu_ffn(groups, scratch, progress);
  }

  RowTransfer combine_rows(const ExchangeLayout& layout) override {
    returned_.resize(send_.size());
    return {expert_out_.data(), returned_.data(), &layout.combine, layout.combine_row_bytes};
  }

  void unpack(const LayerInputs& in, float* y) override {
    weighted_unpermute(returned_.data(), hidden_, row_of_pair_.data(), in.weights, in.tokens,
                       in.top_k, hidden_, y);
  }

 private:
  int ranks_ = 0, local_ = 0, hidden_ = 0;
  std::vector<int32_t> reversed_keys_;  // [T x k] slot of pair T*k-1-i
  std::vector<int64_t> slot_offsets_;   // [R x El + 1]
  std::vector<int64_t> order_;          // [T x k] reversed pair indices in send order
  std::vector<int64_t> row_of_pair_;    // [T x k] send row of each pair
  std::vector<int> send_counts_;        // [R x El]
  std::vector<int> recv_counts_;        // [R x El]
  AlltoallvLayout layout_;              // rows to / from each rank
  std::vector<float> send_;             // [T x k x H]
  std::vector<float> recv_;             // [received x H]
  std::vector<float> expert_out_;       // [received x H]
  std::vector<float> returned_;         // [T x k x H]
};

StrategyDescriptor reversed_dropless_strategy() {
  StrategyDescriptor d;
  d.name = "reversed-dropless";
  d.help = "dropless with each destination slot's pairs in reverse token order (test only)";
  d.rules.rows = RowRule::kPerPair;
  d.rules.copy_bytes = [](const CopyVolume& v) {
    return CopyBytes{v.pairs * v.hidden_row_bytes, v.pairs * v.hidden_row_bytes};
  };
  d.make_cpu = [] { return std::make_unique<ReversedDropless>(); };
  return d;
}

}  // namespace
}  // namespace c2r

int main(int argc, char** argv) {
  c2r::register_strategy(c2r::reversed_dropless_strategy());
  return c2r::cli_main(argc, argv);
}
