#pragma once
// The order in which the cells of a run execute their iterations.
// - interleaved (the default): every cell is set up and warmed up first, keeping its buffers; then
//   each round runs every cell once (its layer, then its ceilings), in an order shuffled per round
//   from the seed. Whatever the machine does meanwhile (another process, a frequency change) lands
//   on every cell alike, and sample i of any two cells was measured in the same round i, so their
//   ratios can be paired by round (results/bootstrap.hpp).
// - sequential: each cell runs its warm-up and all its iterations before the next one starts, and
//   frees its buffers when done.
// With a minimum time (LoopCounts::min_seconds), the timed loop goes on past its iterations until
// every cell has accumulated that much layer time: more rounds of every cell (interleaved), more
// iterations of the running cell (sequential). Every rank decides alike from the same reduced
// times, so every rank runs the same iterations. The ceilings run in the first `iterations` only:
// each flushes the caches first, which would cost far more than a small layer, and the minimum
// time is the layer's.

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "bench/cell_run.hpp"
#include "bench/harness.hpp"
#include "common/communicator.hpp"

namespace c2r {

enum class CellOrder { kInterleaved, kSequential };

std::string to_string(CellOrder order);
// "interleaved" or "sequential"; throws c2r::Error naming the known orders.
CellOrder parse_cell_order(const std::string& name);

struct ScheduleOptions {
  CellOrder order = CellOrder::kInterleaved;
  LoopCounts loops;   // every cell: warm-up iterations (rounds), then timed ones, min time and cap
  uint64_t seed = 1;  // of the rounds' shuffles: the same seed gives the same order
};

// The stopping rule of the timed loop: whether another timed iteration (interleaved: round)
// follows `done` of them when the cell that has accumulated the least layer time has
// `least_seconds`. Always up to loops.iterations; then, with a minimum time, while that cell is
// below it and fewer than loops.max_iterations have run.
bool continue_timing(const LoopCounts& loops, int done, double least_seconds);

// The order of the cells in interleaved round `round` (0-based; warm-up rounds come first): a
// permutation of [0, cells), the same on every rank.
std::vector<int> round_order(uint64_t seed, int round, int cells);

// Collective: runs every cell of `cells` on the backend that `start` makes their runs with, in
// `options.order`, and returns their results in the order of `cells`. `label(i)` names cell i
// for the progress lines (printed when `progress`) and the watchdog's activity. `finished(i,
// result)`, when given, is called on every rank as each cell's result is made: one by one in a
// sequential run, all at the end of an interleaved one (its cells run until the last round).
using CellFinished = std::function<void(size_t, const CellResult&)>;
std::vector<CellResult> run_cells(const Communicator& comm, const std::vector<Cell>& cells,
                                  const CellStarter& start, const ScheduleOptions& options,
                                  const std::function<std::string(size_t)>& label, bool progress,
                                  const CellFinished& finished = {});

}  // namespace c2r
