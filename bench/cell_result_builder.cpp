#include "bench/cell_result_builder.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "bench/layer_suite.hpp"
#include "common/error.hpp"

namespace c2r {

namespace {

double max_over_mean(const std::vector<double>& values) {
  if (values.empty()) return 0.0;
  const double mean = std::accumulate(values.begin(), values.end(), 0.0) / values.size();
  return mean > 0.0 ? *std::max_element(values.begin(), values.end()) / mean : 0.0;
}

double ratio(double a, double b) {
  return b > 0 ? a / b : 0.0;
}

int64_t routed_rows(const ExchangeShape& shape) {
  return std::accumulate(shape.rows_per_local_expert.begin(), shape.rows_per_local_expert.end(),
                         int64_t{0});
}

}  // namespace

std::array<std::optional<PhaseStats>, kNumResultPhases> build_phases(const PhaseSamples& samples) {
  std::array<std::optional<PhaseStats>, kNumResultPhases> phases;
  for (int p = 0; p < kNumPhases; ++p) phases[p] = phase_stats(samples.phase_us[p]);
  phases[static_cast<int>(Phase::kLayer)] = phase_stats(samples.layer_us);
  return phases;
}

Traffic build_traffic(const Communicator& comm, const ExchangeShape& shape, double global_tokens,
                      double dispatch_us) {
  const int ranks = comm.size();
  std::vector<int64_t> my_dispatch_rows(shape.dispatch.send_rows.begin(),
                                        shape.dispatch.send_rows.end());
  std::vector<int64_t> my_combine_rows(shape.combine.send_rows.begin(),
                                       shape.combine.send_rows.end());
  const std::vector<int64_t> dispatch_rows = comm.allgather(my_dispatch_rows);  // [R x R]
  const std::vector<int64_t> combine_rows = comm.allgather(my_combine_rows);    // [R x R]
  Traffic t;
  t.dispatch_row_bytes = shape.dispatch_row_bytes;
  t.combine_row_bytes = shape.combine_row_bytes;
  t.dispatch_bytes.assign(ranks, std::vector<int64_t>(ranks));
  t.combine_bytes.assign(ranks, std::vector<int64_t>(ranks));
  t.remote_bytes_per_rank.assign(ranks, 0);
  std::vector<int64_t> send_bytes_per_rank(ranks, 0);
  int64_t all_copies = 0, remote_copies = 0;
  for (int s = 0; s < ranks; ++s) {
    for (int d = 0; d < ranks; ++d) {
      const int64_t db = dispatch_rows[s * ranks + d] * shape.dispatch_row_bytes;
      const int64_t cb = combine_rows[s * ranks + d] * shape.combine_row_bytes;
      t.dispatch_bytes[s][d] = db;
      t.combine_bytes[s][d] = cb;
      all_copies += dispatch_rows[s * ranks + d];
      send_bytes_per_rank[s] += db;
      if (s != d) {
        remote_copies += dispatch_rows[s * ranks + d];
        t.remote_bytes_per_rank[s] += db + cb;
        t.remote_dispatch_bytes += db;
        t.remote_combine_bytes += cb;
      }
    }
  }
  t.remote_bytes_total = t.remote_dispatch_bytes + t.remote_combine_bytes;
  t.copies_per_token = all_copies / global_tokens;
  t.remote_copies_per_token = remote_copies / global_tokens;
  const double max_send_bytes = static_cast<double>(
      *std::max_element(send_bytes_per_rank.begin(), send_bytes_per_rank.end()));
  t.dispatch_algbw_gbps = dispatch_us > 0 ? max_send_bytes / (dispatch_us * 1e-6) / 1e9 : 0.0;
  t.dispatch_busbw_gbps = t.dispatch_algbw_gbps * (ranks - 1) / ranks;
  return t;
}

Load build_load(const Communicator& comm, const RoutingGroup& group, const Placement& placement,
                const ExchangeShape& shape, int top_k, double global_tokens) {
  const std::vector<double> expert_load(group.tokens_per_expert.begin(),
                                        group.tokens_per_expert.end());
  Load l;
  l.tokens_per_expert = group.tokens_per_expert;
  l.tokens_per_rank.assign(comm.size(), 0.0);
  if (placement.replicated()) {
    // Pairs reach the rank of the slot each is routed to: count this rank's, sum over ranks.
    std::vector<int32_t> slots(group.expert_ids.size());  // [T_r x k]
    placement.route_to_slots(group.expert_ids.data(), static_cast<int64_t>(slots.size()),
                             comm.rank(), slots.data());
    std::vector<int64_t> pairs_per_rank(comm.size(), 0);
    for (int32_t slot : slots) ++pairs_per_rank[slot / placement.experts_per_rank()];
    comm.allreduce_sum(pairs_per_rank);
    l.tokens_per_rank.assign(pairs_per_rank.begin(), pairs_per_rank.end());
  } else {
    for (size_t e = 0; e < expert_load.size(); ++e) {
      l.tokens_per_rank[placement.rank_of(static_cast<int>(e))] += expert_load[e];
    }
  }
  l.dropped_pairs = comm.allreduce_sum(shape.pairs_dropped);
  l.rows_computed_per_rank = comm.allgather({routed_rows(shape)});
  l.expert_imbalance = max_over_mean(expert_load);
  l.rank_imbalance = max_over_mean(l.tokens_per_rank);
  l.dropped_fraction = l.dropped_pairs / (global_tokens * top_k);
  l.internal_collaboration =
      ratio(placement.internal_collaboration(group.coactivation), group.coactivation.total() / 2.0);
  l.coactivation = group.coactivation.counts;
  return l;
}

std::optional<Ceilings> build_ceilings(const std::vector<double>& expert_us,
                                       const std::vector<double>& dispatch_us,
                                       const std::vector<double>& combine_us) {
  if (expert_us.empty()) return std::nullopt;
  return Ceilings{phase_stats(expert_us), phase_stats(dispatch_us), phase_stats(combine_us)};
}

namespace {

// Ceiling over phase: the median of the per-iteration ratios (each ceiling iteration runs right
// after the layer iteration it bounds, so drift between iterations cancels), or the ratio of the
// medians when the sample counts differ.
double efficiency(const PhaseStats& ceiling, const CellResult& cell, Phase phase) {
  const std::vector<double>& bound = ceiling.samples_us;
  if (!cell.phase(phase)) return 0.0;
  const std::vector<double>& measured = cell.phase(phase)->samples_us;
  if (bound.empty() || bound.size() != measured.size()) {
    return ratio(ceiling.stats.median, cell.median_us(phase));
  }
  std::vector<double> ratios;
  for (size_t i = 0; i < bound.size(); ++i) ratios.push_back(ratio(bound[i], measured[i]));
  return summarize(ratios).median;
}

}  // namespace

Efficiency build_efficiency(const Ceilings& ceilings, const CellResult& cell) {
  return {efficiency(ceilings.expert_dense_gemm, cell, Phase::kExpert),
          efficiency(ceilings.dispatch_alltoallv, cell, Phase::kDispatch),
          efficiency(ceilings.combine_alltoallv, cell, Phase::kCombine)};
}

std::optional<OverlapMetrics> build_overlap_metrics(const PhaseSamples& samples,
                                                    const std::optional<Ceilings>& ceilings) {
  if (samples.compute_us.size() != samples.layer_us.size()) return std::nullopt;
  std::vector<double> exposed(samples.layer_us.size());
  for (size_t i = 0; i < exposed.size(); ++i) {
    // Each rank's layer is at least its compute, so the maximum layer is at least the maximum
    // compute; clamp only the rounding of the subtraction.
    exposed[i] = std::max(0.0, samples.layer_us[i] - samples.compute_us[i]);
  }
  OverlapMetrics o{phase_stats(exposed), phase_stats(samples.compute_us), std::nullopt};
  if (ceilings) {
    const double exchange =
        ceilings->dispatch_alltoallv.stats.median + ceilings->combine_alltoallv.stats.median;
    if (exchange > 0.0) o.efficiency = 1.0 - o.exposed_communication.stats.median / exchange;
  }
  return o;
}

int64_t routing_mismatches(const std::vector<int32_t>& expected, const std::vector<int32_t>& chosen,
                           int k) {
  C2R_CHECK(
      expected.size() == chosen.size(),
      "the backend routed " << chosen.size() << " pairs where the gate routed " << expected.size());
  int64_t mismatches = 0;
  std::vector<int32_t> a(k), b(k);
  for (size_t first = 0; first < expected.size(); first += k) {
    // The same experts in any order: the order of a token's k choices is no routing difference.
    std::copy_n(&expected[first], k, a.begin());
    std::copy_n(&chosen[first], k, b.begin());
    std::sort(a.begin(), a.end());
    std::sort(b.begin(), b.end());
    mismatches += a != b;
  }
  return mismatches;
}

OutputCheck build_check(const Communicator& comm, const std::vector<float>& y,
                        const Reference& expected, int64_t tokens, int hidden, double tolerance,
                        double combine_roundoff) {
  double worst = 0.0;
  int64_t wrong = 0;
  for (int64_t t = 0; t < tokens; ++t) {
    double diff = 0.0, norm = 0.0;
    for (int h = 0; h < hidden; ++h) {
      const double d = static_cast<double>(y[t * hidden + h]) - expected.y[t * hidden + h];
      diff += d * d;
      norm += static_cast<double>(expected.y[t * hidden + h]) * expected.y[t * hidden + h];
    }
    const double scale = std::max(std::sqrt(norm), 1e-30);
    const double rel = std::sqrt(diff) / scale;
    const double allowed = tolerance + combine_roundoff * expected.returned_norm[t] / scale;
    const bool bad = !std::isfinite(rel) || rel > allowed;
    worst = std::max(worst, std::isfinite(rel) ? rel : INFINITY);
    wrong += bad;
  }
  OutputCheck c;
  c.checked = true;
  c.worst_relative_error = comm.allreduce_max(worst);
  c.wrong_rows = comm.allreduce_sum(wrong);
  c.rows = comm.allreduce_sum(tokens);  // rows compared, all ranks
  c.tolerance = tolerance;
  c.combine_roundoff = combine_roundoff;
  return c;
}

CellResult LayerSuite::cell_result(const Cell& cell, const Placement& placement,
                                   const CollabSearch& search, const CellMeasurement& m) {
  const ModelConfig& model = config_.model;
  const int64_t tokens = config_.rank_tokens[comm_.rank()];
  const double global_tokens = static_cast<double>(config_.total_tokens());
  RoutingGroup& g = group(cell);
  const CellSamples& samples = *m.samples;

  CellResult r;
  r.routing = to_string(cell.routing);
  if (cell.routing == RoutingMode::kC2R) r.top_t = cell.top_t;
  r.strategy = to_string(cell.strategy);
  r.placement = cell.placement;
  r.dtype = to_string(cell.dtype);
  r.overlap = cell.overlap;
  r.layer = cell.layer;
  r.baseline = cell.baseline;
  r.in_grid = cell.in_grid;
  r.expert_rank = placement.expert_rank();  // empty when replicated
  if (placement.replicated()) r.rank_experts = placement.rank_experts();
  if (cell.placement == "collab")
    r.placement_search = PlacementSearch{search.method, search.candidates};
  if (cell.routing == RoutingMode::kC2R) r.top_t_source = g.c2r_list_source;
  if (g.trace_match >= 0) r.trace_match = g.trace_match;
  r.phases = build_phases(samples.layer);
  r.round_positions = samples.round_positions;

  r.traffic = build_traffic(comm_, m.shape, global_tokens, r.median_us(Phase::kDispatch));
  r.load = build_load(comm_, g, placement, m.shape, model.top_k, global_tokens);

  // Rate of the expert phase: the busiest rank's FLOPs over the critical-path time.
  const double expert_us = r.median_us(Phase::kExpert);
  double my_flops = routed_rows(m.shape) * m.flops_per_row;
  if (shared_expert_) my_flops += tokens * shared_expert_->flops_per_row();
  const double max_flops = comm_.allreduce_max(my_flops);
  r.expert_gflops = expert_us > 0 ? max_flops / (expert_us * 1e-6) / 1e9 : 0.0;

  r.ceilings = build_ceilings(samples.ceilings[0], samples.ceilings[1], samples.ceilings[2]);
  if (r.ceilings) r.efficiency = build_efficiency(*r.ceilings, r);
  r.overlap_metrics = build_overlap_metrics(samples.layer, r.ceilings);

  // The reference assumes the drops the capacity rule makes, worked out independently of the
  // strategy, so a strategy that drops the wrong pairs fails the check. It routes as the
  // backend's own gate did: a near-tie a device breaks the other way is counted as a routing
  // mismatch, not as wrong rows.
  r.check = OutputCheck{};
  if (config_.check) {
    const bool own_gate = m.own_gate;  // the same on every rank: the backend's
    const int64_t mismatches =
        own_gate ? routing_mismatches(g.expert_ids, m.routed_ids, model.top_k) : 0;
    const int64_t total_mismatches = comm_.allreduce_sum(mismatches);
    const bool backend_routing = total_mismatches > 0;
    const std::vector<int32_t>& ids = backend_routing ? m.routed_ids : g.expert_ids;
    const std::vector<float>& weights = backend_routing ? m.routed_weights : g.weights;
    r.check = build_check(
        comm_, m.y, reference(g, ids, weights, expected_kept(ids, cell, placement), cell.dtype),
        tokens, model.hidden, config_.tolerance, unit_roundoff(combine_type(cell.dtype)));
    if (own_gate) r.check->routing_mismatches = total_mismatches;
  }
  return r;
}

}  // namespace c2r
