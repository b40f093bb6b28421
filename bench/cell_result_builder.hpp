#pragma once
// The typed result of one cell from what a backend measured, one builder per section. The
// builders that reduce over ranks are collective: every rank calls them, in the same order.

#include <vector>

#include "bench/harness.hpp"
#include "collectives/strategy.hpp"
#include "common/communicator.hpp"
#include "results/cell_result.hpp"
#include "tuner/collab_placement.hpp"

namespace c2r {

struct RoutingGroup;

// Every phase's statistics: the laps, and kLayer from the whole-layer samples.
std::array<std::optional<PhaseStats>, kNumResultPhases> build_phases(const PhaseSamples& samples);

// Collective. Rank x rank rows and bytes of both exchanges (row = source rank), self-sends
// excluded from "remote"; bandwidth from the busiest sender over `dispatch_us`.
Traffic build_traffic(const Communicator& comm, const ExchangeShape& shape, double global_tokens,
                      double dispatch_us);

// Collective. The routing's (token, expert) pairs per expert and per rank under `placement`,
// rows computed per rank, dropped pairs, and the co-activation kept inside ranks.
Load build_load(const Communicator& comm, const RoutingGroup& group, const Placement& placement,
                const ExchangeShape& shape, int top_k, double global_tokens);

// The same-run ceilings, when measured (all three sample sets non-empty), and their efficiency
// against the cell's phases: the median of the per-iteration ratios ceiling / phase.
std::optional<Ceilings> build_ceilings(const std::vector<double>& expert_us,
                                       const std::vector<double>& dispatch_us,
                                       const std::vector<double>& combine_us);
Efficiency build_efficiency(const Ceilings& ceilings, const CellResult& cell);

// Exposed communication (layer - compute, per iteration) and, with ceilings, the share of the
// plain exchanges it hid. None without compute samples.
std::optional<OverlapMetrics> build_overlap_metrics(const PhaseSamples& samples,
                                                    const std::optional<Ceilings>& ceilings);

// The serial reference of one routing: what the layer must output on this rank, computed from the
// dispatch rows as the payload type delivers them (the same rounding every strategy applies to x).
struct Reference {
  // [T_r x k] the routing it assumes: empty for the CPU gate's (RoutingGroup::expert_ids), else a
  // backend's own (a device gate that broke a near-tie the other way).
  std::vector<int32_t> backend_ids;
  std::vector<bool> kept;  // [T_r x k] the pairs it assumes reached their expert
  PayloadType dtype = PayloadType::kFp32;
  std::vector<float> y;  // [T_r x H]
  // [T_r] sum over the token's kept pairs of w * ||FFN_e(x)||: by the triangle inequality, the
  // returned rows of any strategy sum to at most this in norm, so rounding them to the combine
  // type moves y by at most its unit roundoff times this (OutputCheck).
  std::vector<double> returned_norm;
};

// Collective. y [T_r x H] against the serial reference: a row is wrong when its L2 error exceeds
// tolerance * ||expected row|| + combine_roundoff * expected.returned_norm[t] (the most rounding
// the returned rows to the combine type can move it; 0 for fp32 rows), or is not finite.
// Tokens whose k chosen experts differ, as sets, between `expected` (the CPU gate's) and `chosen`
// (a backend's own gate), both [T x k].
int64_t routing_mismatches(const std::vector<int32_t>& expected, const std::vector<int32_t>& chosen,
                           int k);

OutputCheck build_check(const Communicator& comm, const std::vector<float>& y,
                        const Reference& expected, int64_t tokens, int hidden, double tolerance,
                        double combine_roundoff);

}  // namespace c2r
