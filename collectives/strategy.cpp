#include "collectives/strategy.hpp"

#include <algorithm>
#include <cmath>

namespace c2r {

void ExchangeLayout::set(const AlltoallvLayout& dispatch_rows, int64_t dispatch_bytes,
                         int64_t combine_bytes) {
  dispatch = dispatch_rows;
  combine.send_rows = dispatch_rows.recv_rows;
  combine.send_offsets = dispatch_rows.recv_offsets;
  combine.recv_rows = dispatch_rows.send_rows;
  combine.recv_offsets = dispatch_rows.send_offsets;
  dispatch_row_bytes = dispatch_bytes;
  combine_row_bytes = combine_bytes;
}

void PayloadRows::resize(const RowFormat& format, int64_t rows) {
  format_ = format;
  rows_ = rows;
  bytes_.resize(rows * format.row_bytes() / static_cast<int64_t>(sizeof(float)));
  if (format.type != PayloadType::kFp32) {
    floats_.resize(rows * (static_cast<int64_t>(format.hidden) + format.inline_floats));
  }
}

void PayloadRows::encode() {
  if (format_.type != PayloadType::kFp32) encode_rows(format_, floats_.data(), rows_, bytes());
}

void PayloadRows::decode() {
  if (format_.type != PayloadType::kFp32) decode_rows(format_, bytes(), rows_, floats_.data());
}

const ExchangeLayout& ExchangeStrategy::dispatch(const Communicator& comm) {
  const ExchangeLayout& layout = plan_dispatch(comm);
  exchange_rows(comm, dispatch_rows());
  return layout;
}

void ExchangeStrategy::combine(const Communicator& comm, const ExchangeLayout& layout) {
  exchange_rows(comm, combine_rows(layout));
}

void ExchangeStrategy::exchange_rows(const Communicator& comm, const RowTransfer& transfer) {
  const RowType& row = row_type(transfer.row_bytes);
  if (transfer.fixed_size) {
    const AlltoallvLayout& layout = *transfer.layout;
    comm.alltoall_rows(transfer.send, layout.send_rows.empty() ? 0 : layout.send_rows[0],
                       transfer.recv, row);
  } else {
    comm.alltoallv_rows(transfer.send, transfer.recv, *transfer.layout, row);
  }
}

PendingExchange ExchangeStrategy::start_rows(const Communicator& comm,
                                             const RowTransfer& transfer) {
  const RowType& row = row_type(transfer.row_bytes);
  if (transfer.fixed_size) {
    const AlltoallvLayout& layout = *transfer.layout;
    return comm.start_alltoall_rows(
        transfer.send, layout.send_rows.empty() ? 0 : layout.send_rows[0], transfer.recv, row);
  }
  return comm.start_alltoallv_rows(transfer.send, transfer.recv, *transfer.layout, row);
}

const RowType& ExchangeStrategy::row_type(int64_t bytes) {
  auto& type = row_types_[bytes];
  if (!type) type = std::make_unique<RowType>(bytes);
  return *type;
}

void compute_expert_blocks(const ExpertBank& bank, const std::vector<int64_t>& offsets, int hidden,
                           const float* rows, float* out, float* scratch,
                           std::vector<ExpertGroup>& groups, ExchangeShape& shape,
                           const ProgressHook& progress) {
  const int local = static_cast<int>(offsets.size()) - 1;
  groups.resize(local);
  shape.rows_per_local_expert.resize(local);
  for (int le = 0; le < local; ++le) {
    const int64_t begin = offsets[le];
    const int64_t count = offsets[le + 1] - begin;
    groups[le].weights = bank.local[le];
    groups[le].blocks.resize(1);
    groups[le].blocks[0] =
        RowBlock{rows + begin * hidden, hidden, out + begin * hidden, hidden, count};
    shape.rows_per_local_expert[le] = count;
  }
  shape.expert_gemm_pairs = grouped_swiglu_ffn(groups, scratch, progress);
}

int64_t padded_capacity(double capacity_factor, int64_t tokens, int top_k, int experts) {
  // The tolerance keeps rounding noise (1.1 * 100 * 2 / 4 = 55.000000000000007) from adding a slot.
  const double slots =
      std::ceil(capacity_factor * static_cast<double>(tokens) * top_k / experts - 1e-9);
  return std::max<int64_t>(1, static_cast<int64_t>(slots));
}

}  // namespace c2r
