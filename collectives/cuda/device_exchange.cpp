#include "collectives/cuda/device_exchange.hpp"

#include <algorithm>
#include <numeric>

#include "common/error.hpp"

namespace c2r {

// Defined in the strategy's own device file (collectives/device_NAME.cpp).
std::unique_ptr<DeviceExchange> make_device_padded(const DeviceTools& tools);
std::unique_ptr<DeviceExchange> make_device_dropless(const DeviceTools& tools);
std::unique_ptr<DeviceExchange> make_device_dedup(const DeviceTools& tools);

const std::vector<std::pair<std::string, DeviceExchangeFactory>>& device_exchange_factories() {
  static const std::vector<std::pair<std::string, DeviceExchangeFactory>> table = {
      {"padded", make_device_padded},
      {"dropless", make_device_dropless},
      {"dedup", make_device_dedup},
  };
  return table;
}

const DeviceExchangeFactory& device_exchange_factory(const StrategyDescriptor& strategy) {
  for (const auto& [name, factory] : device_exchange_factories()) {
    if (name == strategy.name) return factory;
  }
  throw Error("strategy '" + strategy.name + "' has no device steps (the CPU backend runs it)");
}

void DevicePairExchange::regroup(const DeviceLayerInputs& in) {
  const int blocks = in.ranks * in.local;
  std::vector<int64_t> table(3 * static_cast<size_t>(blocks));
  int64_t* recv_row = table.data();
  int64_t* grouped_row = recv_row + blocks;
  int64_t* rows = grouped_row + blocks;
  expert_offsets_.assign(in.local + 1, 0);
  int64_t received = 0;
  largest_block_ = 0;
  for (int b = 0; b < blocks; ++b) {
    recv_row[b] = received;
    rows[b] = block_rows_[b];
    received += rows[b];
    expert_offsets_[b % in.local + 1] += rows[b];
    largest_block_ = std::max(largest_block_, rows[b]);
  }
  for (int le = 0; le < in.local; ++le) expert_offsets_[le + 1] += expert_offsets_[le];
  // Within an expert, source ranks in order.
  for (int le = 0; le < in.local; ++le) {
    int64_t at = expert_offsets_[le];
    for (int s = 0; s < in.ranks; ++s) {
      grouped_row[s * in.local + le] = at;
      at += rows[s * in.local + le];
    }
  }
  if (table != block_table_host_) {
    block_table_host_ = std::move(table);
    block_table_ = cuda::DeviceBuffer<int64_t>(block_table_host_);
  }
  grouped_.grow(std::max<int64_t>(1, received) * in.hidden);
  const int64_t* device_table = block_table_.data();
  cuda::copy_row_blocks(recv_.data(), device_table, device_table + 2 * blocks, blocks,
                        largest_block_, in.hidden, grouped_.data(), device_table + blocks);
}

void DevicePairExchange::compute_experts(const DeviceLayerInputs& in) {
  int64_t largest = 1;
  shape_.rows_per_local_expert.resize(in.local);
  shape_.expert_gemm_pairs = 0;
  for (int le = 0; le < in.local; ++le) {
    const int64_t rows = expert_offsets_[le + 1] - expert_offsets_[le];
    shape_.rows_per_local_expert[le] = rows;
    shape_.expert_gemm_pairs += rows > 0;  // one cuBLAS GEMM pair per expert with rows
    largest = std::max(largest, rows);
  }
  expert_out_.grow(std::max<int64_t>(1, expert_offsets_.back()) * in.hidden);
  scratch_.grow(cuda::ffn_scratch_floats(largest, in.ffn));
  cuda::grouped_swiglu_ffn(tools_.blas, in.bank, expert_offsets_, grouped_.data(),
                           expert_out_.data(), scratch_.data());
}

void DevicePairExchange::reduce(const DeviceLayerInputs& in) {
  const int blocks = in.ranks * in.local;
  const int64_t* device_table = block_table_.data();
  cuda::copy_row_blocks(expert_out_.data(), device_table + blocks, device_table + 2 * blocks,
                        blocks, largest_block_, in.hidden, recv_.data(), device_table);
}

void DevicePairExchange::combine(const ExchangeLayout& layout) {
  tools_.transport.alltoallv_rows(recv_.data(), returned_.data(), layout.combine,
                                  layout.combine_row_bytes);
}

void DevicePairExchange::unpack(const DeviceLayerInputs& in, float* y) {
  cuda::weighted_unpermute(returned_.data(), in.hidden, position_.data(), in.weights, in.tokens,
                           in.k, in.hidden, y);
}

void DeviceExchange::fill_rows(const std::vector<int64_t>& counts, int per_peer,
                               std::vector<int>& rows) {
  for (size_t p = 0; p < rows.size(); ++p) {
    rows[p] = static_cast<int>(std::accumulate(counts.begin() + p * per_peer,
                                               counts.begin() + (p + 1) * per_peer, int64_t{0}));
  }
}

}  // namespace c2r
