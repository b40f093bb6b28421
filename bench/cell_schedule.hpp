#pragma once
// The order in which the cells of a run execute their iterations.
// - interleaved (the default): every cell is set up and warmed up first, keeping its buffers; then
//   each round runs every cell once (its layer, then its ceilings), in an order shuffled per round
//   from the seed. Whatever the machine does meanwhile (another process, a frequency change) lands
//   on every cell alike, and sample i of any two cells was measured in the same round i, so their
//   ratios can be paired by round (results/bootstrap.hpp).
// - sequential: each cell runs its warm-up and all its iterations before the next one starts, and
//   frees its buffers when done.

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
  LoopCounts loops;   // every cell: warm-up iterations (rounds), then timed ones
  uint64_t seed = 1;  // of the rounds' shuffles: the same seed gives the same order
};

// The order of the cells in interleaved round `round` (0-based; warm-up rounds come first): a
// permutation of [0, cells), the same on every rank.
std::vector<int> round_order(uint64_t seed, int round, int cells);

// Collective: runs every cell of `cells` on the backend that `start` makes their runs with, in
// `options.order`, and returns their results in the order of `cells`. `label(i)` names cell i
// for the progress lines (printed when `progress`) and the watchdog's activity.
std::vector<CellResult> run_cells(const Communicator& comm, const std::vector<Cell>& cells,
                                  const CellStarter& start, const ScheduleOptions& options,
                                  const std::function<std::string(size_t)>& label, bool progress);

}  // namespace c2r
