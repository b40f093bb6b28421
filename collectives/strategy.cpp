#include "collectives/strategy.hpp"

#include <cmath>

#include "collectives/dedup.hpp"
#include "collectives/dropless.hpp"
#include "collectives/padded.hpp"
#include "common/error.hpp"

namespace c2r {

std::vector<std::string> strategy_names() {
  return {"padded", "dropless", "dedup"};
}

StrategyKind parse_strategy(const std::string& name) {
  if (name == "padded") return StrategyKind::kPadded;
  if (name == "dropless") return StrategyKind::kDropless;
  if (name == "dedup") return StrategyKind::kDedup;
  throw Error("unknown strategy '" + name + "' (known: padded, dropless, dedup)");
}

std::string to_string(StrategyKind kind) {
  switch (kind) {
    case StrategyKind::kPadded:
      return "padded";
    case StrategyKind::kDropless:
      return "dropless";
    case StrategyKind::kDedup:
      return "dedup";
  }
  return "?";
}

std::unique_ptr<ExchangeStrategy> make_strategy(StrategyKind kind) {
  switch (kind) {
    case StrategyKind::kPadded:
      return std::make_unique<PaddedExchange>();
    case StrategyKind::kDropless:
      return std::make_unique<DroplessExchange>();
    case StrategyKind::kDedup:
      return std::make_unique<DedupExchange>();
  }
  throw Error("unknown strategy");
}

const RowType& ExchangeStrategy::row_type(int64_t bytes) {
  auto& type = row_types_[bytes];
  if (!type) type = std::make_unique<RowType>(bytes);
  return *type;
}

void ExchangeStrategy::record_layouts(const AlltoallvLayout& dispatch, int64_t dispatch_row_bytes,
                                      int64_t combine_row_bytes) {
  shape_.dispatch = dispatch;
  shape_.combine.send_rows = dispatch.recv_rows;
  shape_.combine.send_offsets = dispatch.recv_offsets;
  shape_.combine.recv_rows = dispatch.send_rows;
  shape_.combine.recv_offsets = dispatch.send_offsets;
  shape_.dispatch_row_bytes = dispatch_row_bytes;
  shape_.combine_row_bytes = combine_row_bytes;
}

int64_t padded_capacity(double capacity_factor, int64_t tokens, int top_k, int experts) {
  // The tolerance keeps rounding noise (1.1 * 100 * 2 / 4 = 55.000000000000007) from adding a slot.
  const double slots =
      std::ceil(capacity_factor * static_cast<double>(tokens) * top_k / experts - 1e-9);
  return std::max<int64_t>(1, static_cast<int64_t>(slots));
}

}  // namespace c2r
