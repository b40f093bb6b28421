#include "bench/cell_schedule.hpp"

#include <iostream>
#include <numeric>

#include "bench/run_config.hpp"
#include "common/error.hpp"
#include "common/rng.hpp"
#include "common/watchdog.hpp"

namespace c2r {

std::string to_string(CellOrder order) {
  return order == CellOrder::kInterleaved ? "interleaved" : "sequential";
}

CellOrder parse_cell_order(const std::string& name) {
  if (name == "interleaved") return CellOrder::kInterleaved;
  if (name == "sequential") return CellOrder::kSequential;
  throw Error("unknown --order '" + name + "' (known: interleaved, sequential)");
}

std::vector<int> round_order(uint64_t seed, int round, int cells) {
  std::vector<int> order(cells);
  std::iota(order.begin(), order.end(), 0);
  Rng rng(seed, Stream::kCellOrder, static_cast<uint64_t>(round));
  for (int i = cells - 1; i > 0; --i) {  // Fisher-Yates
    std::swap(order[i], order[rng.below(static_cast<uint64_t>(i) + 1)]);
  }
  return order;
}

namespace {

// Columns of a cell's per-iteration record: the phase laps, the whole layer, the ceilings.
constexpr int kLayerColumn = kNumPhases;
constexpr int kFirstCeilingColumn = kNumPhases + 1;
constexpr int kColumns = kFirstCeilingColumn + kNumCeilings;

// One cell while it runs: its backend's run, its ceilings once sized, and this rank's seconds
// per timed iteration.
class ScheduledCell {
 public:
  ScheduledCell(std::unique_ptr<CellRun> run, int iterations)
      : run_(std::move(run)),
        iterations_(iterations),
        local_(static_cast<size_t>(iterations) * kColumns, 0.0) {}

  // One iteration: the layer, then each ceiling, each after its own barrier. Recorded as timed
  // iteration `iteration`, or discarded when it is negative (a warm-up).
  void iterate(const Communicator& comm, int iteration) {
    double* row = iteration >= 0 ? &local_[static_cast<size_t>(iteration) * kColumns] : nullptr;
    time_iteration(comm, clock_, [&](PhaseClock& clock) { run_->layer(clock); });
    if (row) {
      for (int p = 0; p < kNumPhases; ++p) row[p] = clock_.phase_seconds(static_cast<Phase>(p));
      row[kLayerColumn] = clock_.total_seconds();
    }
    if (!ceilings_sized_) {
      ceilings_ = run_->ceilings();
      ceilings_sized_ = true;
    }
    if (!ceilings_) return;
    for (int c = 0; c < kNumCeilings; ++c) {
      const TimedBody& ceiling = (*ceilings_)[c];
      double seconds = 0.0;
      time_iteration(
          comm, clock_,
          [&](PhaseClock& clock) {
            ceiling.run();
            seconds = clock.elapsed_seconds();
          },
          ceiling.prepare);
      if (row) row[kFirstCeilingColumn + c] = seconds;
    }
  }

  // Collective: the maximum over ranks of each iteration, then the cell's result; frees the
  // cell's buffers.
  CellResult finish(const Communicator& comm, std::vector<int> round_positions) {
    comm.allreduce_max(local_);
    CellSamples samples;
    samples.round_positions = std::move(round_positions);
    for (int i = 0; i < iterations_; ++i) {
      const double* row = &local_[static_cast<size_t>(i) * kColumns];
      for (int p = 0; p < kNumPhases; ++p) samples.layer.phase_us[p].push_back(row[p] * 1e6);
      samples.layer.layer_us.push_back(row[kLayerColumn] * 1e6);
      if (!ceilings_) continue;
      for (int c = 0; c < kNumCeilings; ++c) {
        samples.ceilings[c].push_back(row[kFirstCeilingColumn + c] * 1e6);
      }
    }
    CellResult result = run_->result(samples);
    ceilings_.reset();
    run_.reset();
    return result;
  }

 private:
  std::unique_ptr<CellRun> run_;
  int iterations_;
  std::vector<double> local_;  // [iterations x kColumns] this rank's seconds
  PhaseClock clock_;
  bool ceilings_sized_ = false;
  std::optional<CellCeilings> ceilings_;
};

std::vector<CellResult> run_sequential(const Communicator& comm, const std::vector<Cell>& cells,
                                       const CellStarter& start, const LoopCounts& loops,
                                       const std::function<std::string(size_t)>& label,
                                       bool progress) {
  std::vector<CellResult> results;
  for (size_t i = 0; i < cells.size(); ++i) {
    const std::string what =
        "cell " + std::to_string(i + 1) + "/" + std::to_string(cells.size()) + ": " + label(i);
    set_activity("run " + what);
    if (progress) std::cerr << "[" << what << "]" << std::endl;
    ScheduledCell cell(start(cells[i]), loops.iterations);
    for (int it = -loops.warmup; it < loops.iterations; ++it) cell.iterate(comm, it);
    results.push_back(cell.finish(comm, {}));
  }
  return results;
}

std::vector<CellResult> run_interleaved(const Communicator& comm, const std::vector<Cell>& cells,
                                        const CellStarter& start, const ScheduleOptions& options,
                                        const std::function<std::string(size_t)>& label,
                                        bool progress) {
  const int n = static_cast<int>(cells.size());
  const LoopCounts& loops = options.loops;
  auto cell_label = [&](int i) {
    return "cell " + std::to_string(i + 1) + "/" + std::to_string(n) + ": " + label(i);
  };
  std::vector<ScheduledCell> running;
  running.reserve(n);
  for (int i = 0; i < n; ++i) {
    set_activity("set up " + cell_label(i));
    if (progress) std::cerr << "[set up " << cell_label(i) << "]" << std::endl;
    running.emplace_back(start(cells[i]), loops.iterations);
  }
  // round_positions[i][r]: cell i's place in timed round r.
  std::vector<std::vector<int>> round_positions(n, std::vector<int>(loops.iterations));
  const int rounds = loops.warmup + loops.iterations;
  for (int round = 0; round < rounds; ++round) {
    const int iteration = round - loops.warmup;  // negative: a warm-up round
    const std::string round_label =
        iteration < 0
            ? "warm-up round " + std::to_string(round + 1) + "/" + std::to_string(loops.warmup)
            : "round " + std::to_string(iteration + 1) + "/" + std::to_string(loops.iterations);
    if (progress) std::cerr << "[" << round_label << "]" << std::endl;
    const std::vector<int> order = round_order(options.seed, round, n);
    for (int position = 0; position < n; ++position) {
      const int i = order[position];
      set_activity("run " + round_label + ", " + cell_label(i));
      running[i].iterate(comm, iteration);
      if (iteration >= 0) round_positions[i][iteration] = position;
    }
  }
  std::vector<CellResult> results;
  for (int i = 0; i < n; ++i) {
    set_activity("results of " + cell_label(i));
    results.push_back(running[i].finish(comm, std::move(round_positions[i])));
  }
  return results;
}

}  // namespace

std::vector<CellResult> run_cells(const Communicator& comm, const std::vector<Cell>& cells,
                                  const CellStarter& start, const ScheduleOptions& options,
                                  const std::function<std::string(size_t)>& label, bool progress) {
  C2R_CHECK(options.loops.warmup >= 1,
            "warm-up must be at least 1 iteration (the first run sizes the buffers)");
  C2R_CHECK(options.loops.iterations >= 1, "a timed loop needs at least 1 iteration");
  if (options.order == CellOrder::kSequential) {
    return run_sequential(comm, cells, start, options.loops, label, progress);
  }
  return run_interleaved(comm, cells, start, options, label, progress);
}

}  // namespace c2r
