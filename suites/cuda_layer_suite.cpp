#include "suites/cuda_layer_suite.hpp"

#include <algorithm>
#include <numeric>

#include "common/error.hpp"
#include "kernels/cuda/dedup.hpp"
#include "kernels/cuda/gating.hpp"
#include "suites/harness.hpp"

namespace c2r {

using nlohmann::json;

namespace {

// Combine returns every row the way it came.
AlltoallvLayout reversed(const AlltoallvLayout& layout) {
  AlltoallvLayout back(static_cast<int>(layout.send_rows.size()));
  back.send_rows = layout.recv_rows;
  back.send_offsets = layout.recv_offsets;
  back.recv_rows = layout.send_rows;
  back.recv_offsets = layout.send_offsets;
  return back;
}

// Rows per peer from `per_peer` counts per peer, and the offsets.
void fill_rows(const std::vector<int64_t>& counts, int per_peer, std::vector<int>& rows) {
  for (size_t p = 0; p < rows.size(); ++p) {
    rows[p] = static_cast<int>(std::accumulate(counts.begin() + p * per_peer,
                                               counts.begin() + (p + 1) * per_peer, int64_t{0}));
  }
}

}  // namespace

// One cell's device inputs (uploaded before timing) and the buffers its phases share.
struct CudaLayerSuite::DeviceCell {
  int k = 0, hidden = 0, experts = 0, ffn = 0, ranks = 0, local = 0;
  int64_t tokens = 0, pairs = 0;
  cuda::DeviceBuffer<float> x;       // [T x H]
  cuda::DeviceBuffer<float> router;  // [H x E]
  cuda::DeviceGateSpec gate;
  cuda::DeviceBuffer<int32_t> rank_of_expert;   // [E]
  cuda::DeviceBuffer<int32_t> local_of_expert;  // [E]
  cuda::DeviceBuffer<int32_t> slot_of_expert;   // [E] (rank, local index) as rank * local + index
  std::vector<const cuda::DeviceFfnWeights*> bank;  // [local]
  cuda::DeviceBuffer<float> logits, weights;        // [T x E], [T x k]
  cuda::DeviceBuffer<int32_t> ids;                  // [T x k]
  cuda::DeviceBuffer<float> y;                      // [T x H]
  AlltoallvLayout dispatch, combine;
  int64_t dispatch_row_bytes = 0, combine_row_bytes = 0;
  std::vector<int64_t> rows_per_local_expert;  // [local]
  // Exchange buffers (also used by the ceilings): sent rows, received rows, rows sent back, rows
  // returned, expert outputs and FFN scratch.
  cuda::DeviceBuffer<float> send, recv, back, returned, expert_out, scratch;
  // The shared expert (Qwen), when the model has one: its weights, sigmoid gate [H], gate values
  // [T], output [T x H] and scratch.
  const cuda::DeviceFfnWeights* shared = nullptr;
  cuda::DeviceBuffer<float> shared_gate, shared_scale, shared_out, shared_scratch;

  void run_gate(const cuda::Blas& blas) {
    cuda::router_logits(blas, x.data(), tokens, hidden, router.data(), experts, logits.data());
    cuda::select_experts(logits.data(), tokens, gate, ids.data(), weights.data());
    if (shared) {
      cuda::shared_expert_gate(blas, x.data(), tokens, hidden, shared_gate.data(),
                               shared_scale.data());
    }
  }
  // In the expert phase: every token through the shared expert.
  void run_shared_expert(const cuda::Blas& blas) {
    if (!shared) return;
    cuda::grouped_swiglu_ffn(blas, {shared}, {0, tokens}, x.data(), shared_out.data(),
                             shared_scratch.data());
  }
  // At the end of the unpermute: y += gate * shared output.
  void add_shared_expert() {
    if (shared)
      cuda::add_scaled_rows(y.data(), shared_scale.data(), shared_out.data(), tokens, hidden);
  }
};

CudaLayerSuite::CudaLayerSuite(const RunConfig& config, const Communicator& comm, LayerSuite& suite)
    : config_(config), comm_(comm), suite_(suite), nccl_(comm) {}

const cuda::DeviceFfnWeights& CudaLayerSuite::expert(int e) {
  auto it = experts_.find(e);
  if (it == experts_.end()) {
    it = experts_.emplace(e, cuda::upload_ffn_weights(suite_.expert_weights(e))).first;
  }
  return it->second;
}

CellResult CudaLayerSuite::run_cell(const Cell& cell) {
  const RoutingGroup& group = suite_.prepare(cell);
  CollabSearch search;
  const Placement placement = suite_.placement_for(cell, &search);
  const ModelConfig& model = config_.model;

  DeviceCell c;
  c.k = model.top_k;
  c.hidden = model.hidden;
  c.experts = model.experts;
  c.ffn = model.ffn;
  c.ranks = comm_.size();
  c.local = placement.experts_per_rank();
  c.tokens = config_.rank_tokens[comm_.rank()];
  c.pairs = c.tokens * c.k;
  c.x = cuda::DeviceBuffer<float>(group.batch.x);
  c.router = cuda::DeviceBuffer<float>(group.batch.w_router);
  c.gate = cuda::make_device_gate(group.gate);
  std::vector<int32_t> rank_of(c.experts), local_of(c.experts), slot_of(c.experts);
  for (int e = 0; e < c.experts; ++e) {
    rank_of[e] = placement.rank_of(e);
    local_of[e] = placement.local_index(e);
    slot_of[e] = rank_of[e] * c.local + local_of[e];  // send order of dropless and padded
  }
  c.slot_of_expert = cuda::DeviceBuffer<int32_t>(slot_of);
  c.rank_of_expert = cuda::DeviceBuffer<int32_t>(rank_of);
  c.local_of_expert = cuda::DeviceBuffer<int32_t>(local_of);
  for (int e : placement.local_experts(comm_.rank())) c.bank.push_back(&expert(e));
  c.logits = cuda::DeviceBuffer<float>(c.tokens * c.experts);
  c.weights = cuda::DeviceBuffer<float>(c.pairs);
  c.ids = cuda::DeviceBuffer<int32_t>(c.pairs);
  c.y = cuda::DeviceBuffer<float>(c.tokens * c.hidden);
  c.dispatch = AlltoallvLayout(c.ranks);
  if (const FfnWeights* shared = suite_.shared_expert()) {
    if (!shared_) shared_ = cuda::upload_ffn_weights(*shared);
    c.shared = &*shared_;
    c.shared_gate = cuda::DeviceBuffer<float>(group.batch.w_shared_gate);
    c.shared_scale = cuda::DeviceBuffer<float>(c.tokens);
    c.shared_out = cuda::DeviceBuffer<float>(c.tokens * c.hidden);
    c.shared_scratch = cuda::DeviceBuffer<float>(cuda::ffn_scratch_floats(c.tokens, shared->ffn));
  }

  CellMeasurement m = cell.strategy == StrategyKind::kDedup    ? run_dedup(c)
                      : cell.strategy == StrategyKind::kPadded ? run_padded(c)
                                                               : run_dropless(c);
  m.shape.dispatch = c.dispatch;
  m.shape.combine = c.combine;
  m.shape.dispatch_row_bytes = c.dispatch_row_bytes;
  m.shape.combine_row_bytes = c.combine_row_bytes;
  m.shape.rows_per_local_expert = c.rows_per_local_expert;
  m.flops_per_row = 6.0 * c.hidden * c.ffn;
  m.y = c.y.download();
  if (m.kept.empty()) m.kept.assign(c.pairs, true);
  return suite_.cell_result(cell, placement, search, m);
}

// Dropless: one row per (token, expert) pair, sorted by (destination rank, local expert); the
// experts compute each (source rank, local expert) block where it arrived.
CellMeasurement CudaLayerSuite::run_dropless(DeviceCell& c) {
  const int slots = c.ranks * c.local;  // send order: (destination rank, local expert)
  cuda::DeviceBuffer<int32_t> keys(c.pairs);
  cuda::DeviceBuffer<int64_t> offsets(slots + 1), order(c.pairs), position(c.pairs);
  cuda::DeviceBuffer<int64_t> send_counts(slots), recv_counts(slots);
  c.send = cuda::DeviceBuffer<float>(c.pairs * c.hidden);
  c.returned = cuda::DeviceBuffer<float>(c.pairs * c.hidden);
  c.dispatch_row_bytes = c.combine_row_bytes = static_cast<int64_t>(c.hidden) * sizeof(float);
  std::vector<int64_t> received(slots);
  std::vector<const cuda::DeviceFfnWeights*> blocks;
  std::vector<int64_t> block_offsets;

  CellMeasurement m;
  m.samples = time_phases(comm_, config_.loops, [&](PhaseClock& clock) {
    c.run_gate(blas_);
    cuda::synchronize();
    clock.lap(Phase::kGate);
    cuda::map_keys(c.ids.data(), c.pairs, c.slot_of_expert.data(), keys.data());
    sorter_.sort(keys.data(), c.pairs, slots, offsets.data(), order.data(), position.data());
    cuda::gather_rows(c.x.data(), c.hidden, order.data(), c.pairs, c.k, c.hidden, c.send.data(),
                      c.hidden);
    cuda::counts_from_offsets(offsets.data(), slots, send_counts.data());
    cuda::synchronize();
    clock.lap(Phase::kPermute);
    comm_.barrier();
    clock.lap(Phase::kSync);
    // Dispatch: the counts travel on the device; the host then posts the row transfers.
    nccl_.exchange_counts(send_counts.data(), recv_counts.data(), c.local);
    received = recv_counts.download();
    fill_rows(send_counts.download(), c.local, c.dispatch.send_rows);
    fill_rows(received, c.local, c.dispatch.recv_rows);
    c.dispatch.compute_offsets();
    c.recv.grow(std::max<int64_t>(1, c.dispatch.total_recv_rows()) * c.hidden);
    nccl_.alltoallv_rows(c.send.data(), c.recv.data(), c.dispatch, c.dispatch_row_bytes);
    cuda::synchronize();
    clock.lap(Phase::kDispatch);
    blocks.clear();
    block_offsets.assign(1, 0);
    int64_t largest = 1;
    for (int s = 0; s < c.ranks; ++s) {
      for (int le = 0; le < c.local; ++le) {
        blocks.push_back(c.bank[le]);
        block_offsets.push_back(block_offsets.back() + received[s * c.local + le]);
        largest = std::max(largest, received[s * c.local + le]);
      }
    }
    c.expert_out.grow(std::max<int64_t>(1, block_offsets.back()) * c.hidden);
    c.scratch.grow(cuda::ffn_scratch_floats(largest, c.ffn));
    c.combine = reversed(c.dispatch);
    experts_and_back(c, clock, blocks, block_offsets, c.expert_out.data(), position.data());
  });
  c.rows_per_local_expert.assign(c.local, 0);
  for (int s = 0; s < c.ranks; ++s) {
    for (int le = 0; le < c.local; ++le) {
      c.rows_per_local_expert[le] += received[s * c.local + le];
    }
  }
  c.back = std::move(c.expert_out);  // the combine's send buffer, for its ceiling
  time_ceilings(c, c.recv.data(), c.dispatch.total_recv_rows(), m);
  return m;
}

// Dedup: one row per (token, destination rank) with the slots inline; the destination gathers
// its pairs by local expert, sums each row's experts with their weights and returns one row.
CellMeasurement CudaLayerSuite::run_dedup(DeviceCell& c) {
  const int stride = c.hidden + 2 * c.k;          // floats per sent row
  cuda::DeviceBuffer<int32_t> row_keys(c.pairs);  // [T x k] destination of leading slots
  cuda::DeviceBuffer<int64_t> row_offsets(c.ranks + 2), row_order(c.pairs);
  cuda::DeviceBuffer<int64_t> row_of_slot(c.pairs);  // [T x k] send row of each leading slot
  cuda::DeviceBuffer<int64_t> send_counts(c.ranks), recv_counts(c.ranks);
  cuda::DeviceBuffer<int32_t> slot_keys;  // [received x k] local expert, or `local`
  cuda::DeviceBuffer<float> slot_weights;
  cuda::DeviceBuffer<int64_t> expert_offsets(c.local + 2), slot_order, slot_position;
  cuda::DeviceBuffer<float> gathered;  // [local pairs x H] in local expert order
  c.send = cuda::DeviceBuffer<float>(c.pairs * stride);
  c.returned = cuda::DeviceBuffer<float>(c.pairs * c.hidden);
  c.dispatch_row_bytes = static_cast<int64_t>(stride) * sizeof(float);
  c.combine_row_bytes = static_cast<int64_t>(c.hidden) * sizeof(float);
  std::vector<int64_t> local_offsets;
  std::vector<int64_t> rows_here(c.local, 0);

  CellMeasurement m;
  m.samples = time_phases(comm_, config_.loops, [&](PhaseClock& clock) {
    c.run_gate(blas_);
    cuda::synchronize();
    clock.lap(Phase::kGate);
    // Pack: leading slots sorted by destination (rows first; other slots in the last bucket).
    cuda::dedup_row_keys(c.ids.data(), c.tokens, c.k, c.rank_of_expert.data(), c.ranks,
                         row_keys.data());
    sorter_.sort(row_keys.data(), c.pairs, c.ranks + 1, row_offsets.data(), row_order.data(),
                 row_of_slot.data());
    cuda::mask_positions(row_of_slot.data(), row_keys.data(), c.pairs, c.ranks);
    cuda::counts_from_offsets(row_offsets.data(), c.ranks, send_counts.data());
    const std::vector<int64_t> sent = send_counts.download();
    const int64_t rows = std::accumulate(sent.begin(), sent.end(), int64_t{0});
    cuda::dedup_pack(c.x.data(), c.hidden, c.ids.data(), c.weights.data(), c.k,
                     c.rank_of_expert.data(), c.local_of_expert.data(), row_order.data(),
                     row_keys.data(), rows, c.send.data());
    cuda::synchronize();
    clock.lap(Phase::kPermute);
    comm_.barrier();
    clock.lap(Phase::kSync);
    nccl_.exchange_counts(send_counts.data(), recv_counts.data(), 1);
    fill_rows(sent, 1, c.dispatch.send_rows);
    fill_rows(recv_counts.download(), 1, c.dispatch.recv_rows);
    c.dispatch.compute_offsets();
    const int64_t received = c.dispatch.total_recv_rows();
    c.recv.grow(std::max<int64_t>(1, received) * stride);
    nccl_.alltoallv_rows(c.send.data(), c.recv.data(), c.dispatch, c.dispatch_row_bytes);
    cuda::synchronize();
    clock.lap(Phase::kDispatch);
    // Regroup: the received rows' local pairs, sorted by local expert, gathered contiguously.
    const int64_t slots = received * c.k;
    slot_keys.grow(std::max<int64_t>(1, slots));
    slot_weights.grow(std::max<int64_t>(1, slots));
    slot_order.grow(std::max<int64_t>(1, slots));
    slot_position.grow(std::max<int64_t>(1, slots));
    cuda::dedup_unpack_slots(c.recv.data(), received, c.hidden, c.k, c.local, slot_keys.data(),
                             slot_weights.data());
    sorter_.sort(slot_keys.data(), slots, c.local + 1, expert_offsets.data(), slot_order.data(),
                 slot_position.data());
    cuda::mask_positions(slot_position.data(), slot_keys.data(), slots, c.local);
    local_offsets = expert_offsets.download();
    local_offsets.resize(c.local + 1);  // drop the no-pair bucket
    const int64_t local_pairs = local_offsets.back();
    gathered.grow(std::max<int64_t>(1, local_pairs) * c.hidden);
    cuda::gather_rows(c.recv.data(), stride, slot_order.data(), local_pairs, c.k, c.hidden,
                      gathered.data(), c.hidden);
    cuda::synchronize();
    clock.lap(Phase::kPermute);
    int64_t largest = 1;
    for (int le = 0; le < c.local; ++le) {
      rows_here[le] = local_offsets[le + 1] - local_offsets[le];
      largest = std::max(largest, rows_here[le]);
    }
    c.expert_out.grow(std::max<int64_t>(1, local_pairs) * c.hidden);
    c.scratch.grow(cuda::ffn_scratch_floats(largest, c.ffn));
    cuda::grouped_swiglu_ffn(blas_, c.bank, local_offsets, gathered.data(), c.expert_out.data(),
                             c.scratch.data());
    c.run_shared_expert(blas_);
    cuda::synchronize();
    clock.lap(Phase::kExpert);
    // Reduce: one weighted sum of its local experts per received row.
    c.back.grow(std::max<int64_t>(1, received) * c.hidden);
    cuda::weighted_unpermute(c.expert_out.data(), c.hidden, slot_position.data(),
                             slot_weights.data(), received, c.k, c.hidden, c.back.data());
    cuda::synchronize();
    clock.lap(Phase::kUnpermute);
    comm_.barrier();
    clock.lap(Phase::kSync);
    c.combine = reversed(c.dispatch);
    nccl_.alltoallv_rows(c.back.data(), c.returned.data(), c.combine, c.combine_row_bytes);
    cuda::synchronize();
    clock.lap(Phase::kCombine);
    // Unpack: a token's output is the sum of its returned rows (weights were applied remotely).
    cuda::weighted_unpermute(c.returned.data(), c.hidden, row_of_slot.data(), nullptr, c.tokens,
                             c.k, c.hidden, c.y.data());
    c.add_shared_expert();
    cuda::synchronize();
    clock.lap(Phase::kUnpermute);
  });
  c.rows_per_local_expert = rows_here;
  time_ceilings(c, gathered.data(), local_offsets.back(), m);
  return m;
}

void CudaLayerSuite::experts_and_back(DeviceCell& c, PhaseClock& clock,
                                      const std::vector<const cuda::DeviceFfnWeights*>& blocks,
                                      const std::vector<int64_t>& block_offsets, float* expert_out,
                                      const int64_t* position) {
  cuda::grouped_swiglu_ffn(blas_, blocks, block_offsets, c.recv.data(), expert_out,
                           c.scratch.data());
  c.run_shared_expert(blas_);
  cuda::synchronize();
  clock.lap(Phase::kExpert);
  comm_.barrier();
  clock.lap(Phase::kSync);
  nccl_.alltoallv_rows(expert_out, c.returned.data(), c.combine, c.combine_row_bytes);
  cuda::synchronize();
  clock.lap(Phase::kCombine);
  // Each pair's returned row sits where the pair was sent from (-1: dropped).
  cuda::weighted_unpermute(c.returned.data(), c.hidden, position, c.weights.data(), c.tokens, c.k,
                           c.hidden, c.y.data());
  c.add_shared_expert();
  cuda::synchronize();
  clock.lap(Phase::kUnpermute);
}

// Padded: capacity slots per (source rank, expert), overflow dropped in token order, zero padding,
// the same rows to every rank; experts compute every slot, padding included.
CellMeasurement CudaLayerSuite::run_padded(DeviceCell& c) {
  const int slots = c.ranks * c.local;  // (destination rank, local expert)
  // From the largest rank's tokens: every rank exchanges blocks of the same size.
  const int64_t capacity =
      padded_capacity(config_.capacity_factor, config_.tokens_per_rank, c.k, c.experts);
  cuda::DeviceBuffer<int32_t> keys(c.pairs);
  cuda::DeviceBuffer<int64_t> offsets(slots + 1), order(c.pairs), sorted_at(c.pairs);
  cuda::DeviceBuffer<int64_t> position(c.pairs);  // [T x k] send row of each pair, -1 dropped
  const int64_t rows = slots * capacity;          // sent and received alike
  c.send = cuda::DeviceBuffer<float>(rows * c.hidden);
  c.recv = cuda::DeviceBuffer<float>(rows * c.hidden);
  c.back = cuda::DeviceBuffer<float>(rows * c.hidden);
  c.returned = cuda::DeviceBuffer<float>(rows * c.hidden);
  c.scratch = cuda::DeviceBuffer<float>(cuda::ffn_scratch_floats(capacity, c.ffn));
  c.dispatch_row_bytes = c.combine_row_bytes = static_cast<int64_t>(c.hidden) * sizeof(float);
  for (int p = 0; p < c.ranks; ++p) {
    c.dispatch.send_rows[p] = c.dispatch.recv_rows[p] = static_cast<int>(c.local * capacity);
  }
  c.dispatch.compute_offsets();
  c.combine = reversed(c.dispatch);
  // Received rows: by source rank, then local expert, `capacity` rows each.
  std::vector<const cuda::DeviceFfnWeights*> blocks;
  std::vector<int64_t> block_offsets = {0};
  for (int s = 0; s < c.ranks; ++s) {
    for (int le = 0; le < c.local; ++le) {
      blocks.push_back(c.bank[le]);
      block_offsets.push_back(block_offsets.back() + capacity);
    }
  }

  CellMeasurement m;
  m.samples = time_phases(comm_, config_.loops, [&](PhaseClock& clock) {
    c.run_gate(blas_);
    cuda::synchronize();
    clock.lap(Phase::kGate);
    cuda::map_keys(c.ids.data(), c.pairs, c.slot_of_expert.data(), keys.data());
    sorter_.sort(keys.data(), c.pairs, slots, offsets.data(), order.data(), sorted_at.data());
    cuda::zero_device(c.send.data(), rows * c.hidden * sizeof(float));
    cuda::padded_scatter(c.x.data(), c.hidden, order.data(), keys.data(), offsets.data(), c.pairs,
                         c.k, capacity, c.send.data(), position.data());
    cuda::synchronize();
    clock.lap(Phase::kPermute);
    comm_.barrier();
    clock.lap(Phase::kSync);
    nccl_.alltoallv_rows(c.send.data(), c.recv.data(), c.dispatch, c.dispatch_row_bytes);
    cuda::synchronize();
    clock.lap(Phase::kDispatch);
    experts_and_back(c, clock, blocks, block_offsets, c.back.data(), position.data());
  });
  c.rows_per_local_expert.assign(c.local, capacity * c.ranks);
  const std::vector<int64_t> placed = position.download();
  m.kept.resize(c.pairs);
  for (int64_t p = 0; p < c.pairs; ++p) {
    m.kept[p] = placed[p] >= 0;
    m.shape.pairs_dropped += !m.kept[p];
  }
  time_ceilings(c, c.recv.data(), rows, m);
  return m;
}

void CudaLayerSuite::time_ceilings(DeviceCell& c, const float* routed, int64_t routed_rows,
                                   CellMeasurement& m) {
  if (!config_.ceilings) return;
  cuda::DeviceBuffer<float> out(std::max<int64_t>(1, routed_rows) * c.hidden);
  cuda::DeviceBuffer<float> scratch(
      cuda::ffn_scratch_floats(std::max<int64_t>(1, routed_rows), c.ffn));
  m.expert_ceiling = time_interval(comm_, config_.loops, [&] {
    cuda::dense_ffn_gemms(blas_, *c.bank.front(), routed, routed_rows, false, out.data(),
                          scratch.data());
    if (c.shared) {
      cuda::dense_ffn_gemms(blas_, *c.shared, c.x.data(), c.tokens, false, c.shared_out.data(),
                            c.shared_scratch.data());
    }
    cuda::synchronize();
  });
  m.dispatch_ceiling = time_interval(comm_, config_.loops, [&] {
    nccl_.alltoallv_rows(c.send.data(), c.recv.data(), c.dispatch, c.dispatch_row_bytes);
    cuda::synchronize();
  });
  m.combine_ceiling = time_interval(comm_, config_.loops, [&] {
    nccl_.alltoallv_rows(c.back.data(), c.returned.data(), c.combine, c.combine_row_bytes);
    cuda::synchronize();
  });
}

}  // namespace c2r
