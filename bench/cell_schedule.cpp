#include "bench/cell_schedule.hpp"

#include <algorithm>
#include <cmath>
#include <iostream>
#include <numeric>
#include <sstream>

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

bool continue_timing(const LoopCounts& loops, int done, double least_seconds) {
  if (done < loops.iterations) return true;
  return loops.min_seconds > 0.0 && done < loops.max_iterations &&
         least_seconds < loops.min_seconds;
}

namespace {

// Columns of a cell's per-iteration record: the phase laps, the whole layer, its compute, the
// ceilings.
constexpr int kLayerColumn = kNumPhases;
constexpr int kComputeColumn = kNumPhases + 1;
constexpr int kFirstCeilingColumn = kNumPhases + 2;
constexpr int kColumns = kFirstCeilingColumn + kNumCeilings;

// One cell while it runs: its backend's run, its ceilings once sized, and this rank's seconds
// per timed iteration.
class ScheduledCell {
 public:
  // `iterations`: the timed iterations expected (a minimum time may add more).
  ScheduledCell(std::unique_ptr<CellRun> run, int iterations) : run_(std::move(run)) {
    local_.reserve(static_cast<size_t>(iterations) * kColumns);
  }

  // One iteration: the layer, then (with `ceilings`) each ceiling, each after its own barrier.
  // Recorded as the next timed iteration, or discarded when `timed` is false (a warm-up). The
  // ceilings of timed iterations run in the first ones only: those are the ones recorded.
  void iterate(const Communicator& comm, bool timed, bool ceilings) {
    double* row = nullptr;
    if (timed) {
      local_.resize(local_.size() + kColumns, 0.0);
      row = &local_[static_cast<size_t>(iterations_++) * kColumns];
    }
    time_iteration(comm, clock_, [&](PhaseClock& clock) { run_->layer(clock); });
    if (row) {
      for (int p = 0; p < kNumPhases; ++p) row[p] = clock_.phase_seconds(static_cast<Phase>(p));
      row[kLayerColumn] = clock_.total_seconds();
      row[kComputeColumn] = compute_seconds(clock_);
      layer_seconds_ += row[kLayerColumn];
    }
    if (!ceilings_sized_) {
      ceilings_ = run_->ceilings();
      ceilings_sized_ = true;
    }
    if (!ceilings_ || !ceilings) return;
    if (row) ++ceiling_iterations_;
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

  // This rank's layer seconds over the timed iterations so far.
  double layer_seconds() const { return layer_seconds_; }

  // Collective: the maximum over ranks of each iteration, then the cell's result; frees the
  // cell's buffers. Every rank has run the same iterations (the schedule decides collectively).
  CellResult finish(const Communicator& comm, std::vector<int> round_positions) {
    comm.allreduce_max(local_);
    CellSamples samples;
    samples.round_positions = std::move(round_positions);
    for (int i = 0; i < iterations_; ++i) {
      const double* row = &local_[static_cast<size_t>(i) * kColumns];
      for (int p = 0; p < kNumPhases; ++p) samples.layer.phase_us[p].push_back(row[p] * 1e6);
      samples.layer.layer_us.push_back(row[kLayerColumn] * 1e6);
      samples.layer.compute_us.push_back(row[kComputeColumn] * 1e6);
      if (!ceilings_ || i >= ceiling_iterations_) continue;
      for (int c = 0; c < kNumCeilings; ++c) {
        samples.ceilings[c].push_back(row[kFirstCeilingColumn + c] * 1e6);
      }
    }
    CellResult result = run_->result(samples);
    ceilings_.reset();
    run_.reset();
    local_ = {};
    return result;
  }

 private:
  std::unique_ptr<CellRun> run_;
  int iterations_ = 0;          // timed iterations recorded
  int ceiling_iterations_ = 0;  // the first timed iterations, which ran the ceilings too
  std::vector<double> local_;   // [iterations_ x kColumns] this rank's seconds
  double layer_seconds_ = 0.0;
  PhaseClock clock_;
  bool ceilings_sized_ = false;
  std::optional<CellCeilings> ceilings_;
};

// continue_timing after `done` timed iterations, asking `least` (collective: every rank calls it
// alike) for the least accumulated layer time only when the rule depends on it, so that a run
// without a minimum time adds no collective.
template <typename Least>
bool time_more(const LoopCounts& loops, int done, const Least& least) {
  const bool open =
      done >= loops.iterations && loops.min_seconds > 0.0 && done < loops.max_iterations;
  return continue_timing(loops, done, open ? least() : 0.0);
}

// "round 3/10", or with a minimum time "round 12 (10 or more, until each cell has 0.5 s)".
std::string timed_label(const char* what, int done, const LoopCounts& loops) {
  std::string label = std::string(what) + " " + std::to_string(done + 1);
  if (loops.min_seconds <= 0.0) return label + "/" + std::to_string(loops.iterations);
  std::ostringstream seconds;
  seconds << loops.min_seconds;
  return label + " (" + std::to_string(loops.iterations) + " or more, until each cell has " +
         seconds.str() + " s)";
}

// With a minimum time the timed loop may run thousands of rounds: show the first ones and then
// every hundredth.
bool show_progress(int done, const LoopCounts& loops) {
  return done < loops.iterations || (done + 1) % 100 == 0;
}

std::vector<CellResult> run_sequential(const Communicator& comm, const std::vector<Cell>& cells,
                                       const CellStarter& start, const LoopCounts& loops,
                                       const std::function<std::string(size_t)>& label,
                                       bool progress, const CellFinished& finished) {
  std::vector<CellResult> results;
  for (size_t i = 0; i < cells.size(); ++i) {
    const std::string what =
        "cell " + std::to_string(i + 1) + "/" + std::to_string(cells.size()) + ": " + label(i);
    set_activity("run " + what);
    if (progress) std::cerr << "[" << what << "]" << std::endl;
    ScheduledCell cell(start(cells[i]), loops.iterations);
    for (int it = 0; it < loops.warmup; ++it) cell.iterate(comm, false, true);
    // The decision reduces this cell's time over ranks once per iteration, after its ceilings.
    for (int done = 0;
         time_more(loops, done, [&] { return comm.allreduce_max(cell.layer_seconds()); }); ++done) {
      if (loops.min_seconds > 0.0 && progress && done >= loops.iterations &&
          show_progress(done, loops)) {
        std::cerr << "[" << timed_label("iteration", done, loops) << "]" << std::endl;
      }
      cell.iterate(comm, true, done < loops.iterations);
    }
    results.push_back(cell.finish(comm, {}));
    if (finished) finished(i, results.back());
  }
  return results;
}

std::vector<CellResult> run_interleaved(const Communicator& comm, const std::vector<Cell>& cells,
                                        const CellStarter& start, const ScheduleOptions& options,
                                        const std::function<std::string(size_t)>& label,
                                        bool progress, const CellFinished& finished) {
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
  std::vector<std::vector<int>> round_positions(n);
  for (auto& positions : round_positions) positions.reserve(loops.iterations);
  // Schedule round `round` (warm-up rounds first), timed or not, with the ceilings or not.
  auto run_round = [&](int round, bool timed, bool ceilings, const std::string& round_label,
                       bool show) {
    if (progress && show) std::cerr << "[" << round_label << "]" << std::endl;
    const std::vector<int> order = round_order(options.seed, round, n);
    for (int position = 0; position < n; ++position) {
      const int i = order[position];
      set_activity("run " + round_label + ", " + cell_label(i));
      running[i].iterate(comm, timed, ceilings);
      if (timed) round_positions[i].push_back(position);
    }
  };
  for (int round = 0; round < loops.warmup; ++round) {
    run_round(round, false, true,
              "warm-up round " + std::to_string(round + 1) + "/" + std::to_string(loops.warmup),
              true);
  }
  // The decision reduces every cell's time over ranks once per round, between rounds.
  std::vector<double> accumulated(n);
  auto least = [&] {
    for (int i = 0; i < n; ++i) accumulated[i] = running[i].layer_seconds();
    comm.allreduce_max(accumulated);
    return n == 0 ? loops.min_seconds : *std::min_element(accumulated.begin(), accumulated.end());
  };
  for (int done = 0; time_more(loops, done, least); ++done) {
    run_round(loops.warmup + done, true, done < loops.iterations, timed_label("round", done, loops),
              show_progress(done, loops));
  }
  std::vector<CellResult> results;
  for (int i = 0; i < n; ++i) {
    set_activity("results of " + cell_label(i));
    results.push_back(running[i].finish(comm, std::move(round_positions[i])));
    if (finished) finished(static_cast<size_t>(i), results.back());
  }
  return results;
}

}  // namespace

std::vector<CellResult> run_cells(const Communicator& comm, const std::vector<Cell>& cells,
                                  const CellStarter& start, const ScheduleOptions& options,
                                  const std::function<std::string(size_t)>& label, bool progress,
                                  const CellFinished& finished) {
  C2R_CHECK(options.loops.warmup >= 1,
            "warm-up must be at least 1 iteration (the first run sizes the buffers)");
  C2R_CHECK(options.loops.iterations >= 1, "a timed loop needs at least 1 iteration");
  C2R_CHECK(options.loops.min_seconds >= 0.0 && std::isfinite(options.loops.min_seconds),
            "a minimum time must be finite and not negative");
  C2R_CHECK(
      options.loops.min_seconds == 0.0 || options.loops.max_iterations >= options.loops.iterations,
      "the cap on timed iterations (" << options.loops.max_iterations
                                      << ") is below the iterations every cell runs ("
                                      << options.loops.iterations << ")");
  if (options.order == CellOrder::kSequential) {
    return run_sequential(comm, cells, start, options.loops, label, progress, finished);
  }
  return run_interleaved(comm, cells, start, options, label, progress, finished);
}

}  // namespace c2r
