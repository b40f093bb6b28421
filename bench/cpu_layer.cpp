#include "bench/cpu_layer.hpp"

#include <mpi.h>

#include <algorithm>

#include "bench/routing_source.hpp"
#include "common/error.hpp"

namespace c2r {

CpuLayer::CpuLayer(const CpuLayerSetup& setup, const Communicator& comm)
    : setup_(setup), comm_(comm) {
  C2R_CHECK(setup.overlap >= 1, "a layer needs at least one token chunk");
  const ModelConfig& model = *setup.model;
  const int64_t tokens = setup.batch->tokens;
  const int hidden = model.hidden;
  const int k = model.top_k;
  logits_.resize(tokens * model.experts);
  expert_ids_.resize(tokens * k);
  weights_.resize(tokens * k);
  shared_scale_.resize(setup.shared ? tokens : 0);
  shared_out_.resize(setup.shared ? tokens * hidden : 0);
  y_.resize(tokens * hidden);
  scratch_.resize(ffn_scratch_floats(std::max(model.ffn, model.shared_ffn)));

  const int32_t* routed_ids = expert_ids_.data();
  if (setup.placement->replicated()) {
    slot_ids_.resize(tokens * k);
    slot_placement_.emplace(setup.placement->slot_placement());
    routed_ids = slot_ids_.data();
  }
  chunks_.resize(setup.overlap);
  for (int c = 0; c < setup.overlap; ++c) {
    Chunk& chunk = chunks_[c];
    chunk.tokens = token_chunk(tokens, setup.overlap, c);
    chunk.strategy = setup.strategy->make_cpu();
    LayerInputs& in = chunk.in;
    const int64_t first = chunk.tokens.first;
    in.tokens = chunk.tokens.count;
    in.hidden = hidden;
    in.top_k = k;
    in.x = setup.batch->x.data() + first * hidden;
    in.expert_ids = routed_ids + first * k;
    in.weights = weights_.data() + first * k;
    in.placement = slot_placement_ ? &*slot_placement_ : setup.placement;
    in.dtype = setup.dtype;
    in.capacity_factor = setup.capacity_factor;
    // Every rank's chunk c is sized from the largest rank's chunk c, as the serial layer sizes
    // from the largest rank's tokens: each chunk exchanges blocks of one size on every rank.
    in.capacity_tokens = token_chunk(setup.capacity_tokens, setup.overlap, c).count;
  }
  if (setup.overlap > 1 && setup.progress == OverlapProgress::kTest) {
    progress_ = [this] { progress_exchanges(); };
  }
}

void CpuLayer::run(PhaseClock& clock) {
  if (chunks_.size() == 1) {
    run_layer(*this, comm_, clock);
  } else {
    run_pipelined(clock);
  }
}

void CpuLayer::gate() {
  run_gate(*setup_.batch, *setup_.model, *setup_.gate, logits_.data(), expert_ids_.data(),
           weights_.data(), shared_scale_);
  if (slot_placement_) {
    setup_.placement->route_to_slots(expert_ids_.data(), static_cast<int64_t>(expert_ids_.size()),
                                     comm_.rank(), slot_ids_.data());
  }
}

void CpuLayer::compute_experts() {
  serial().compute_experts(setup_.bank, scratch_.data());
  if (setup_.shared) {
    const int hidden = setup_.model->hidden;
    swiglu_ffn(*setup_.shared,
               RowBlock{chunks_[0].in.x, hidden, shared_out_.data(), hidden, chunks_[0].in.tokens},
               scratch_.data());
  }
}

void CpuLayer::unpack() {
  unpack_chunk(chunks_[0]);
}

void CpuLayer::unpack_chunk(Chunk& chunk) {
  const int hidden = setup_.model->hidden;
  float* y = y_.data() + chunk.tokens.first * hidden;
  chunk.strategy->unpack(chunk.in, y);
  if (!setup_.shared) return;
  const float* scale = shared_scale_.data() + chunk.tokens.first;
  const float* shared = shared_out_.data() + chunk.tokens.first * hidden;
  for (int64_t t = 0; t < chunk.tokens.count; ++t) {
    for (int h = 0; h < hidden; ++h) y[t * hidden + h] += scale[t] * shared[t * hidden + h];
  }
}

void CpuLayer::run_pipelined(PhaseClock& clock) {
  const int n = static_cast<int>(chunks_.size());
  dispatch_progress_seconds_ = combine_progress_seconds_ = 0.0;
  // 1. Gate every token, pack every chunk.
  gate();
  clock.lap(Phase::kGate);
  for (Chunk& c : chunks_) c.strategy->pack(c.in);
  clock.lap(Phase::kPermute);
  // 2. Every chunk's counts (small blocking all2alls, one per chunk), then chunk 0's rows.
  for (Chunk& c : chunks_) c.layout = &c.strategy->plan_dispatch(comm_);
  start_dispatch(chunks_[0]);
  clock.lap(Phase::kDispatch);
  // 3. The shared expert, every token, while chunk 0's rows fly.
  if (setup_.shared) {
    const int hidden = setup_.model->hidden;
    swiglu_ffn(
        *setup_.shared,
        RowBlock{setup_.batch->x.data(), hidden, shared_out_.data(), hidden, setup_.batch->tokens},
        scratch_.data(), progress_);
    clock.lap(Phase::kExpert);
    charge_progress(clock, Phase::kExpert);
  }
  // 4. Chunk i's experts while chunk i+1's dispatch and chunk i-1's combine are in flight.
  for (int i = 0; i < n; ++i) {
    Chunk& chunk = chunks_[i];
    wait_exchange(chunk.dispatch, clock, Phase::kDispatch);
    if (i + 1 < n) start_dispatch(chunks_[i + 1]);
    clock.lap(Phase::kDispatch);
    chunk.strategy->regroup();
    clock.lap(Phase::kPermute);
    chunk.strategy->compute_experts(setup_.bank, scratch_.data(), progress_);
    clock.lap(Phase::kExpert);
    charge_progress(clock, Phase::kExpert);
    chunk.strategy->reduce();
    clock.lap(Phase::kUnpermute);
    chunk.combine = chunk.strategy->start_rows(comm_, chunk.strategy->combine_rows(*chunk.layout));
    clock.lap(Phase::kCombine);
    if (i > 0) {
      wait_exchange(chunks_[i - 1].combine, clock, Phase::kCombine);
      unpack_chunk(chunks_[i - 1]);
      clock.lap(Phase::kUnpermute);
    }
  }
  // 5. The last chunk's outputs.
  wait_exchange(chunks_[n - 1].combine, clock, Phase::kCombine);
  unpack_chunk(chunks_[n - 1]);
  clock.lap(Phase::kUnpermute);
}

void CpuLayer::start_dispatch(Chunk& chunk) {
  chunk.dispatch = chunk.strategy->start_rows(comm_, chunk.strategy->dispatch_rows());
}

void CpuLayer::wait_exchange(PendingExchange& exchange, PhaseClock& clock, Phase phase) {
  // Whatever ran before the wait was lapped by the caller; the wait itself is the exchange's.
  exchange.wait();
  clock.lap(phase);
}

void CpuLayer::progress_exchanges() {
  for (Chunk& c : chunks_) {
    if (c.dispatch.in_flight()) {
      const double start = MPI_Wtime();
      c.dispatch.test();
      dispatch_progress_seconds_ += MPI_Wtime() - start;
    }
    if (c.combine.in_flight()) {
      const double start = MPI_Wtime();
      c.combine.test();
      combine_progress_seconds_ += MPI_Wtime() - start;
    }
  }
}

void CpuLayer::charge_progress(PhaseClock& clock, Phase step) {
  clock.move(step, Phase::kDispatch, dispatch_progress_seconds_);
  clock.move(step, Phase::kCombine, combine_progress_seconds_);
  dispatch_progress_seconds_ = combine_progress_seconds_ = 0.0;
}

ExchangeShape CpuLayer::shape() const {
  ExchangeShape merged = chunks_[0].strategy->shape();
  if (chunks_.size() == 1) return merged;
  AlltoallvLayout rows = merged.dispatch;
  for (size_t c = 1; c < chunks_.size(); ++c) {
    const ExchangeShape& s = chunks_[c].strategy->shape();
    for (size_t p = 0; p < rows.send_rows.size(); ++p) {
      rows.send_rows[p] += s.dispatch.send_rows[p];
      rows.recv_rows[p] += s.dispatch.recv_rows[p];
    }
    for (size_t le = 0; le < merged.rows_per_local_expert.size(); ++le) {
      merged.rows_per_local_expert[le] += s.rows_per_local_expert[le];
    }
    merged.pairs_dropped += s.pairs_dropped;
    merged.expert_gemm_pairs += s.expert_gemm_pairs;
  }
  rows.compute_offsets();
  merged.set(rows, merged.dispatch_row_bytes, merged.combine_row_bytes);
  return merged;
}

}  // namespace c2r
