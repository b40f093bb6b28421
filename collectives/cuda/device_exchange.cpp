#include "collectives/cuda/device_exchange.hpp"

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

void DevicePairExchange::combine(const ExchangeLayout& layout) {
  tools_.nccl.alltoallv_rows(expert_out_.data(), returned_.data(), layout.combine,
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
