#include "suites/cuda_layer_suite.hpp"

#include <algorithm>
#include <numeric>

#include "common/error.hpp"
#include "kernels/cuda/gating.hpp"
#include "suites/harness.hpp"

namespace c2r {

using nlohmann::json;

namespace {

template <typename T>
void ensure(cuda::DeviceBuffer<T>& buffer, int64_t size) {
  if (static_cast<int64_t>(buffer.size()) < size) buffer = cuda::DeviceBuffer<T>(size);
}

// Combine returns every row the way it came.
AlltoallvLayout reversed(const AlltoallvLayout& layout) {
  AlltoallvLayout back(static_cast<int>(layout.send_rows.size()));
  back.send_rows = layout.recv_rows;
  back.send_offsets = layout.recv_offsets;
  back.recv_rows = layout.send_rows;
  back.recv_offsets = layout.send_offsets;
  return back;
}

}  // namespace

CudaLayerSuite::CudaLayerSuite(const RunConfig& config, const Communicator& comm, LayerSuite& suite)
    : config_(config), comm_(comm), suite_(suite), nccl_(comm) {}

const cuda::DeviceFfnWeights& CudaLayerSuite::expert(int e) {
  auto it = experts_.find(e);
  if (it == experts_.end()) {
    it = experts_.emplace(e, cuda::upload_ffn_weights(suite_.expert_weights(e))).first;
  }
  return it->second;
}

json CudaLayerSuite::run_cell(const Cell& cell) {
  if (cell.strategy != StrategyKind::kDropless || suite_.has_shared_expert()) {
    throw Error::on_all_ranks(
        "the CUDA backend runs the dropless strategy on models without a shared expert so far "
        "(use --strategy dropless, and --shared-ffn 0 for Qwen)");
  }
  const RoutingGroup& group = suite_.prepare(cell);
  CollabSearch search;
  const Placement placement = suite_.placement_for(cell, &search);
  const ModelConfig& model = config_.model;
  const int k = model.top_k, hidden = model.hidden, experts = model.experts, ffn = model.ffn;
  const int ranks = comm_.size(), local = placement.experts_per_rank();
  const int64_t tokens = config_.tokens_per_rank, pairs = tokens * k;
  const int slots = ranks * local;  // (destination rank, local expert), in send order
  const int64_t row_bytes = static_cast<int64_t>(hidden) * sizeof(float);

  // Inputs and buffers on the device, before timing.
  const TokenBatch& batch = group.batch;
  cuda::DeviceBuffer<float> x(batch.x);              // [T x H]
  cuda::DeviceBuffer<float> router(batch.w_router);  // [H x E]
  const cuda::DeviceGateSpec gate = cuda::make_device_gate(group.gate);
  std::vector<int32_t> slot_of_expert(experts);
  for (int e = 0; e < experts; ++e) {
    slot_of_expert[e] = placement.rank_of(e) * local + placement.local_index(e);
  }
  cuda::DeviceBuffer<int32_t> slot_table(slot_of_expert);  // [E]
  std::vector<const cuda::DeviceFfnWeights*> bank;         // [local]
  for (int e : placement.local_experts(comm_.rank())) bank.push_back(&expert(e));
  cuda::DeviceBuffer<float> logits(tokens * experts), weights(pairs);  // [T x E], [T x k]
  cuda::DeviceBuffer<int32_t> ids(pairs), slot_keys(pairs);            // [T x k]
  cuda::DeviceBuffer<int64_t> offsets(slots + 1), order(pairs), position(pairs);
  cuda::DeviceBuffer<int64_t> send_counts(slots), recv_counts(slots);        // [R x local]
  cuda::DeviceBuffer<float> send(pairs * hidden), returned(pairs * hidden);  // [P x H]
  cuda::DeviceBuffer<float> recv, expert_out, scratch;  // [received rows x H], sized on first use
  cuda::DeviceBuffer<float> y(tokens * hidden);         // [T x H]
  AlltoallvLayout dispatch(ranks), combine(ranks);
  std::vector<int64_t> received(slots);  // rows per (source rank, local expert), host
  std::vector<const cuda::DeviceFfnWeights*> blocks;
  std::vector<int64_t> block_offsets;

  const PhaseSamples samples = time_phases(comm_, config_.loops, [&](PhaseClock& clock) {
    cuda::router_logits(blas_, x.data(), tokens, hidden, router.data(), experts, logits.data());
    cuda::select_experts(logits.data(), tokens, gate, ids.data(), weights.data());
    cuda::synchronize();
    clock.lap(Phase::kGate);
    // Permute: pairs sorted by (destination rank, local expert), token rows gathered in that order.
    cuda::map_keys(ids.data(), pairs, slot_table.data(), slot_keys.data());
    sorter_.sort(slot_keys.data(), pairs, slots, offsets.data(), order.data(), position.data());
    cuda::gather_rows(x.data(), hidden, order.data(), pairs, k, hidden, send.data(), hidden);
    cuda::counts_from_offsets(offsets.data(), slots, send_counts.data());
    cuda::synchronize();
    clock.lap(Phase::kPermute);
    comm_.barrier();
    clock.lap(Phase::kSync);
    // Dispatch: the counts travel on the device; the host then posts the row transfers.
    nccl_.exchange_counts(send_counts.data(), recv_counts.data(), local);
    const std::vector<int64_t> sent = send_counts.download();
    received = recv_counts.download();
    for (int p = 0; p < ranks; ++p) {
      dispatch.send_rows[p] =
          static_cast<int>(std::accumulate(&sent[p * local], &sent[p * local] + local, int64_t{0}));
      dispatch.recv_rows[p] = static_cast<int>(
          std::accumulate(&received[p * local], &received[p * local] + local, int64_t{0}));
    }
    dispatch.compute_offsets();
    ensure(recv, std::max<int64_t>(1, dispatch.total_recv_rows()) * hidden);
    nccl_.alltoallv_rows(send.data(), recv.data(), dispatch, row_bytes);
    cuda::synchronize();
    clock.lap(Phase::kDispatch);
    // Experts: rows arrive by source rank, then local expert: one GEMM group per block.
    blocks.clear();
    block_offsets.assign(1, 0);
    int64_t largest = 1;
    for (int s = 0; s < ranks; ++s) {
      for (int le = 0; le < local; ++le) {
        blocks.push_back(bank[le]);
        block_offsets.push_back(block_offsets.back() + received[s * local + le]);
        largest = std::max(largest, received[s * local + le]);
      }
    }
    ensure(expert_out, std::max<int64_t>(1, block_offsets.back()) * hidden);
    ensure(scratch, cuda::ffn_scratch_floats(largest, ffn));
    cuda::grouped_swiglu_ffn(blas_, blocks, block_offsets, recv.data(), expert_out.data(),
                             scratch.data());
    cuda::synchronize();
    clock.lap(Phase::kExpert);
    comm_.barrier();
    clock.lap(Phase::kSync);
    combine = reversed(dispatch);
    nccl_.alltoallv_rows(expert_out.data(), returned.data(), combine, row_bytes);
    cuda::synchronize();
    clock.lap(Phase::kCombine);
    // Unpermute: each pair's returned row sits where the pair was sent from.
    cuda::weighted_unpermute(returned.data(), hidden, position.data(), weights.data(), tokens, k,
                             hidden, y.data());
    cuda::synchronize();
    clock.lap(Phase::kUnpermute);
  });

  CellMeasurement m;
  m.samples = samples;
  m.shape.dispatch = dispatch;
  m.shape.combine = combine;
  m.shape.dispatch_row_bytes = row_bytes;
  m.shape.combine_row_bytes = row_bytes;
  m.shape.rows_per_local_expert.assign(local, 0);
  for (int s = 0; s < ranks; ++s) {
    for (int le = 0; le < local; ++le)
      m.shape.rows_per_local_expert[le] += received[s * local + le];
  }
  const int64_t routed_rows = dispatch.total_recv_rows();
  if (config_.ceilings) {
    // Expert: one dense GEMM pair of the same FLOPs; exchange: the same NCCL rows, nothing else.
    cuda::DeviceBuffer<float> dense_scratch(
        cuda::ffn_scratch_floats(std::max<int64_t>(1, routed_rows), ffn));
    m.expert_ceiling = time_interval(comm_, config_.loops, [&] {
      cuda::dense_ffn_gemms(blas_, *bank.front(), recv.data(), routed_rows, false,
                            expert_out.data(), dense_scratch.data());
      cuda::synchronize();
    });
    m.dispatch_ceiling = time_interval(comm_, config_.loops, [&] {
      nccl_.alltoallv_rows(send.data(), recv.data(), dispatch, row_bytes);
      cuda::synchronize();
    });
    m.combine_ceiling = time_interval(comm_, config_.loops, [&] {
      nccl_.alltoallv_rows(expert_out.data(), returned.data(), combine, row_bytes);
      cuda::synchronize();
    });
  }
  m.flops_per_row = 6.0 * hidden * ffn;
  m.y = y.download();
  m.kept.assign(pairs, true);
  return suite_.cell_result(cell, placement, search, m);
}

}  // namespace c2r
