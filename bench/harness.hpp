#pragma once
// The timing harness every suite shares: fixed warm-up and iteration counts on every rank, a
// barrier before each iteration, phases timed per rank and reduced to the maximum over ranks per
// iteration (the critical path). Warm-up iterations are run in full and discarded. The order in
// which cells' iterations run is the schedule's (bench/cell_schedule.hpp).

#include <array>
#include <functional>
#include <string>
#include <vector>

#include "common/communicator.hpp"
#include "results/phase.hpp"

namespace c2r {

// Attributes wall time to phases: each lap() charges the time since the previous lap (or start()).
// Laps are the phases before kLayer (kNumPhases of them).
class PhaseClock {
 public:
  void start();
  void lap(Phase phase);
  // Charges `seconds` already lapped to `from` to `to` instead: work done inside another step
  // (an overlapped layer's exchange progress inside the expert step).
  void move(Phase from, Phase to, double seconds);
  double phase_seconds(Phase phase) const { return seconds_[static_cast<int>(phase)]; }
  double total_seconds() const;    // start() to the last lap
  double elapsed_seconds() const;  // start() to now

 private:
  double last_ = 0.0;
  double first_ = 0.0;
  std::array<double, kNumPhases> seconds_{};
};

// The most timed iterations a cell runs while it accumulates a minimum time, unless asked for
// another cap: every sample is kept and written to the report, so the cap bounds both (about 1 MB
// of report per cell at this count).
constexpr int kDefaultMaxIterations = 10000;

struct LoopCounts {
  int warmup = 2;
  int iterations = 10;  // timed iterations, at least
  // Timed iterations continue past `iterations` until the cell has accumulated this much measured
  // layer time (0: never), up to `max_iterations`: a fast cell then gets as many samples as a
  // time budget allows, not a count chosen for the slowest one.
  double min_seconds = 0.0;
  int max_iterations = kDefaultMaxIterations;
};

// Per-iteration times in microseconds, each the maximum over ranks.
struct PhaseSamples {
  std::array<std::vector<double>, kNumPhases> phase_us;
  std::vector<double> layer_us;  // whole layer (start() to last lap), max over ranks
  // gate + permute + expert + unpermute of each rank, max over ranks: the compute a layer cannot
  // hide (results/cell_result.hpp, OverlapMetrics).
  std::vector<double> compute_us;
};

// This clock's compute laps: gate + permute + expert + unpermute.
double compute_seconds(const PhaseClock& clock);

// One timed iteration of `body`: `prepare` (untimed, e.g. a cache flush), a barrier so that every
// rank starts together, then the clock started and the body run.
void time_iteration(const Communicator& comm, PhaseClock& clock,
                    const std::function<void(PhaseClock&)>& body,
                    const std::function<void()>& prepare = {});

}  // namespace c2r
