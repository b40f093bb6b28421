#pragma once
// The CPU steps shared by strategies that send one row per (token, expert) slot (dropless,
// padded): combine returns the expert outputs into returned_ in the send layout, and the unpack
// sums each pair's returned row, found at row_of_pair_[pair] (-1: dropped), with the pair's gate
// weight.

#include <cstdint>
#include <vector>

#include "collectives/strategy.hpp"
#include "kernels/cpu/permute.hpp"

namespace c2r {

class PairExchange : public ExchangeStrategy {
 public:
  void unpack(const LayerInputs& in, float* y) override {
    weighted_unpermute(returned_.data(), hidden_, row_of_pair_.data(), in.weights, in.tokens,
                       in.top_k, hidden_, y);
  }

 protected:
  int hidden_ = 0;                    // H
  std::vector<int64_t> row_of_pair_;  // [T_r*k] send row of each pair, -1 if dropped
  std::vector<float> returned_;       // [sent rows x H], the send layout
};

}  // namespace c2r
