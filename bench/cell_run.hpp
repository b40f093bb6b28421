#pragma once
// One cell of a run on a backend, alive from its first iteration to its result: the layer's steps
// with their buffers, and its same-run ceilings. A backend (CPU: bench/layer_suite.cpp; CUDA:
// bench/cuda/cuda_layer_suite.cpp) makes one per cell; the schedule (bench/cell_schedule.hpp)
// decides when each of its iterations runs and times it.

#include <array>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <vector>

#include "bench/harness.hpp"
#include "results/cell_result.hpp"

namespace c2r {

struct Cell;

// A timed interval of a ceiling: `prepare` runs untimed before the barrier (a cache flush, the
// send buffer written), `run` is timed.
struct TimedBody {
  std::function<void()> prepare;
  std::function<void()> run;
};

// The same-run ceilings of a cell, in this order: expert, dispatch, combine.
constexpr int kNumCeilings = 3;
using CellCeilings = std::array<TimedBody, kNumCeilings>;

// Per-iteration samples of one cell, each the maximum over ranks (us), in the order the
// iterations ran.
struct CellSamples {
  PhaseSamples layer;
  std::array<std::vector<double>, kNumCeilings> ceilings;  // empty when not measured
  std::vector<int> round_positions;  // [iterations] the cell's place in each round (0-based)
};

class CellRun {
 public:
  virtual ~CellRun() = default;
  // One iteration of the whole layer, each step charged to its phase on `clock`. Collective.
  virtual void layer(PhaseClock& clock) = 0;
  // The cell's ceilings, sized from what the layer exchanged: called once, after the first
  // layer iteration. Empty (no run) when the run measures none.
  virtual std::optional<CellCeilings> ceilings() = 0;
  // Collective: the cell's result from its samples (traffic, load, efficiencies, the check).
  virtual CellResult result(const CellSamples& samples) = 0;
};

// Makes the CellRun of a cell on one backend; collective (every rank, same cell).
using CellStarter = std::function<std::unique_ptr<CellRun>(const Cell&)>;

}  // namespace c2r
