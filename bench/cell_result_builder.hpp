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

// Collective. y [T_r x H] against the serial reference `expected` [T_r x H]: a row is wrong when
// its relative L2 error exceeds `tolerance` or is not finite.
OutputCheck build_check(const Communicator& comm, const std::vector<float>& y,
                        const std::vector<float>& expected, int64_t tokens, int hidden,
                        double tolerance);

}  // namespace c2r
