// The cell schedule (bench/cell_schedule.hpp): which cell runs when, warm-up discarded, samples in
// round order, results in the cells' order; and the verdicts drawn from interleaved samples.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <memory>
#include <numeric>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "bench/cell_schedule.hpp"
#include "bench/run_config.hpp"
#include "common/error.hpp"
#include "common/rng.hpp"
#include "results/verdict.hpp"

namespace c2r {
namespace {

// A cell that records when it ran (a global step counter shared by all cells) and reports, as its
// layer "time" of each timed iteration, the step at which that iteration ran.
struct CeilingCounts {
  int sized = 0, prepares = 0, runs = 0;
};

class RecordingRun final : public CellRun {
 public:
  RecordingRun(int id, std::vector<int>& trace, bool with_ceilings, CeilingCounts& counts)
      : id_(id), trace_(trace), with_ceilings_(with_ceilings), counts_(counts) {}
  void layer(PhaseClock& clock) override {
    trace_.push_back(id_);
    clock.lap(Phase::kGate);
  }
  std::optional<CellCeilings> ceilings() override {
    ++counts_.sized;
    if (!with_ceilings_) return std::nullopt;
    CellCeilings c;
    for (auto& body : c) {
      body.prepare = [this] { ++counts_.prepares; };
      body.run = [this] { ++counts_.runs; };
    }
    return c;
  }
  CellResult result(const CellSamples& samples) override {
    CellResult r;
    r.placement = std::to_string(id_);
    r.round_positions = samples.round_positions;
    r.phases[static_cast<int>(Phase::kLayer)] = phase_stats(samples.layer.layer_us);
    EXPECT_EQ(samples.ceilings[0].empty(), !with_ceilings_);
    if (with_ceilings_) {
      r.ceilings = Ceilings{phase_stats(samples.ceilings[0]), phase_stats(samples.ceilings[1]),
                            phase_stats(samples.ceilings[2])};
    }
    return r;
  }

 private:
  int id_;
  std::vector<int>& trace_;
  bool with_ceilings_;
  CeilingCounts& counts_;
};

struct Recorded {
  std::vector<int> trace;  // cell ids in the order their layers ran
  CeilingCounts ceilings;  // over all cells
  std::vector<CellResult> results;
};

Recorded run_recorded(CellOrder order, int cells, LoopCounts loops, bool with_ceilings) {
  Communicator comm(MPI_COMM_WORLD);
  Recorded rec;
  std::vector<Cell> grid(cells);
  int next_id = 0;
  CellStarter start = [&](const Cell&) {
    return std::make_unique<RecordingRun>(next_id++, rec.trace, with_ceilings, rec.ceilings);
  };
  ScheduleOptions options{order, loops, 42};
  rec.results = run_cells(
      comm, grid, start, options, [](size_t i) { return "cell " + std::to_string(i); }, false);
  return rec;
}

TEST(Schedule, RoundOrderIsASeededPermutation) {
  const std::vector<int> a = round_order(7, 3, 12);
  std::vector<int> sorted = a;
  std::sort(sorted.begin(), sorted.end());
  std::vector<int> identity(12);
  std::iota(identity.begin(), identity.end(), 0);
  EXPECT_EQ(sorted, identity);
  EXPECT_EQ(a, round_order(7, 3, 12));  // same seed and round: same order
  // Different rounds and seeds shuffle differently (12! orders: equal by chance is negligible).
  EXPECT_NE(a, round_order(7, 4, 12));
  EXPECT_NE(a, round_order(8, 3, 12));
  EXPECT_EQ(round_order(1, 0, 1), std::vector<int>{0});
  EXPECT_TRUE(round_order(1, 0, 0).empty());
}

TEST(Schedule, InterleavedRunsEveryCellOncePerRoundInTheSeededOrder) {
  const LoopCounts loops{2, 5};
  const Recorded rec = run_recorded(CellOrder::kInterleaved, 4, loops, true);
  ASSERT_EQ(rec.trace.size(), 4u * 7u);
  for (int round = 0; round < 7; ++round) {
    const std::vector<int> ran(rec.trace.begin() + round * 4, rec.trace.begin() + round * 4 + 4);
    EXPECT_EQ(ran, round_order(42, round, 4)) << "round " << round;
  }
  ASSERT_EQ(rec.results.size(), 4u);
  for (int i = 0; i < 4; ++i) {
    const CellResult& r = rec.results[i];
    EXPECT_EQ(r.placement, std::to_string(i));  // results in the cells' order
    ASSERT_EQ(r.round_positions.size(), 5u);
    for (int t = 0; t < 5; ++t) {  // timed round t is schedule round t + warm-up
      const std::vector<int> order = round_order(42, t + loops.warmup, 4);
      EXPECT_EQ(order[r.round_positions[t]], i);
    }
    ASSERT_TRUE(r.phase(Phase::kLayer));
    EXPECT_EQ(r.phase(Phase::kLayer)->samples_us.size(), 5u);  // warm-up discarded
    ASSERT_TRUE(r.ceilings);
    EXPECT_EQ(r.ceilings->combine_alltoallv.samples_us.size(), 5u);
  }
}

TEST(Schedule, SequentialRunsEachCellsIterationsTogether) {
  const Recorded rec = run_recorded(CellOrder::kSequential, 3, LoopCounts{1, 4}, false);
  const std::vector<int> expected = {0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 2, 2, 2, 2, 2};
  EXPECT_EQ(rec.trace, expected);
  for (const CellResult& r : rec.results) {
    EXPECT_TRUE(r.round_positions.empty());
    EXPECT_EQ(r.phase(Phase::kLayer)->samples_us.size(), 4u);
  }
}

TEST(Schedule, CeilingsAreSizedOnceAndRunEveryIteration) {
  const Recorded rec = run_recorded(CellOrder::kInterleaved, 2, LoopCounts{2, 3}, true);
  EXPECT_EQ(rec.ceilings.sized, 2);                          // once per cell
  EXPECT_EQ(rec.ceilings.runs, 2 * kNumCeilings * (2 + 3));  // warm-up iterations run them too
  EXPECT_EQ(rec.ceilings.prepares, rec.ceilings.runs);
}

// Past the iterations, a minimum time adds layer iterations only: the ceilings (each after a cache
// flush) keep the iterations' samples.
TEST(Schedule, MinimumTimeAddsLayerIterationsWithoutCeilings) {
  for (CellOrder order : {CellOrder::kInterleaved, CellOrder::kSequential}) {
    LoopCounts loops{1, 2};
    loops.min_seconds = 3600.0;
    loops.max_iterations = 6;
    const Recorded rec = run_recorded(order, 3, loops, true);
    EXPECT_EQ(rec.trace.size(), 3u * (1 + 6));
    EXPECT_EQ(rec.ceilings.runs, 3 * kNumCeilings * (1 + 2)) << to_string(order);
    for (const CellResult& r : rec.results) {
      EXPECT_EQ(r.phase(Phase::kLayer)->samples_us.size(), 6u);
      EXPECT_EQ(r.ceilings->expert_dense_gemm.samples_us.size(), 2u);
      EXPECT_EQ(r.round_positions.size(), order == CellOrder::kInterleaved ? 6u : 0u);
    }
  }
}

TEST(Schedule, RefusesNoWarmupOrNoIterationsAndUnknownOrders) {
  Communicator comm(MPI_COMM_WORLD);
  CellStarter never = [](const Cell&) -> std::unique_ptr<CellRun> {
    ADD_FAILURE() << "no cell should start";
    return nullptr;
  };
  auto label = [](size_t) { return std::string(); };
  EXPECT_THROW(run_cells(comm, std::vector<Cell>(1), never, {CellOrder::kInterleaved, {0, 3}, 1},
                         label, false),
               Error);
  EXPECT_THROW(run_cells(comm, std::vector<Cell>(1), never, {CellOrder::kSequential, {1, 0}, 1},
                         label, false),
               Error);
  EXPECT_EQ(parse_cell_order("sequential"), CellOrder::kSequential);
  try {
    parse_cell_order("random");
    ADD_FAILURE() << "accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("known: interleaved, sequential"), std::string::npos);
  }
}

TEST(Schedule, StoppingRuleOfTheMinimumTime) {
  LoopCounts loops{1, 3};
  // Without a minimum time: exactly the iterations.
  EXPECT_TRUE(continue_timing(loops, 0, 0.0));
  EXPECT_TRUE(continue_timing(loops, 2, 0.0));
  EXPECT_FALSE(continue_timing(loops, 3, 0.0));
  loops.min_seconds = 0.5;
  loops.max_iterations = 10;
  // The iterations run whatever time they take; then until the least-timed cell has the minimum.
  EXPECT_TRUE(continue_timing(loops, 2, 100.0));
  EXPECT_TRUE(continue_timing(loops, 3, 0.499));
  EXPECT_FALSE(continue_timing(loops, 3, 0.5));
  EXPECT_TRUE(continue_timing(loops, 9, 0.0));
  EXPECT_FALSE(continue_timing(loops, 10, 0.0));  // the cap ends it short of the time
}

// A cell whose layer takes `seconds` (a sleep, charged to the gate).
class SleepingRun final : public CellRun {
 public:
  explicit SleepingRun(double seconds) : seconds_(seconds) {}
  void layer(PhaseClock& clock) override {
    std::this_thread::sleep_for(std::chrono::duration<double>(seconds_));
    clock.lap(Phase::kGate);
  }
  std::optional<CellCeilings> ceilings() override { return std::nullopt; }
  CellResult result(const CellSamples& samples) override {
    CellResult r;
    r.round_positions = samples.round_positions;
    r.phases[static_cast<int>(Phase::kLayer)] = phase_stats(samples.layer.layer_us);
    r.phases[static_cast<int>(Phase::kGate)] = phase_stats(samples.layer.phase_us[0]);
    return r;
  }

 private:
  double seconds_;
};

std::vector<CellResult> run_sleeping(CellOrder order, const std::vector<double>& seconds,
                                     LoopCounts loops) {
  Communicator comm(MPI_COMM_WORLD);
  size_t next = 0;
  CellStarter start = [&](const Cell&) { return std::make_unique<SleepingRun>(seconds[next++]); };
  return run_cells(
      comm, std::vector<Cell>(seconds.size()), start, ScheduleOptions{order, loops, 3},
      [](size_t i) { return std::to_string(i); }, false);
}

double sum_us(const CellResult& r) {
  const auto& samples = r.phase(Phase::kLayer)->samples_us;
  return std::accumulate(samples.begin(), samples.end(), 0.0);
}

TEST(Schedule, MinimumTimeAddsRoundsUntilEveryCellHasIt) {
  // A 1 ms cell and a 4 ms cell, at least 2 rounds, until each has 40 ms.
  LoopCounts loops{1, 2};
  loops.min_seconds = 0.04;
  const std::vector<CellResult> results =
      run_sleeping(CellOrder::kInterleaved, {0.001, 0.004}, loops);
  ASSERT_EQ(results.size(), 2u);
  const size_t rounds = results[0].phase(Phase::kLayer)->samples_us.size();
  // Every cell ran every round (the samples and round positions say how many).
  for (const CellResult& r : results) {
    EXPECT_EQ(r.phase(Phase::kLayer)->samples_us.size(), rounds);
    EXPECT_EQ(r.phase(Phase::kGate)->samples_us.size(), rounds);
    EXPECT_EQ(r.round_positions.size(), rounds);
  }
  // The slow cell reached the time in a tenth of the rounds; the fast one set the count: it has
  // the minimum, and had less one round earlier.
  EXPECT_GT(rounds, 2u);
  EXPECT_GE(sum_us(results[0]), 40000.0);
  const double last = results[0].phase(Phase::kLayer)->samples_us.back();
  EXPECT_LT(sum_us(results[0]) - last, 40000.0);
  EXPECT_LE(rounds, 40u);  // each round of the fast cell sleeps at least 1 ms
}

TEST(Schedule, MinimumTimeInSequenceGivesEachCellItsOwnCount) {
  LoopCounts loops{1, 3};
  loops.min_seconds = 0.03;
  const std::vector<CellResult> results =
      run_sleeping(CellOrder::kSequential, {0.001, 0.010}, loops);
  const size_t fast = results[0].phase(Phase::kLayer)->samples_us.size();
  const size_t slow = results[1].phase(Phase::kLayer)->samples_us.size();
  EXPECT_GT(fast, 3u);
  EXPECT_LE(fast, 30u);
  EXPECT_EQ(slow, 3u);  // 3 iterations of 10 ms reach 30 ms
  for (const CellResult& r : results) {
    EXPECT_GE(sum_us(r), 30000.0);
    EXPECT_TRUE(r.round_positions.empty());
  }
}

TEST(Schedule, MaxIterationsEndsAMinimumTimeNotReached) {
  for (CellOrder order : {CellOrder::kInterleaved, CellOrder::kSequential}) {
    LoopCounts loops{1, 2};
    loops.min_seconds = 3600.0;
    loops.max_iterations = 7;
    for (const CellResult& r : run_sleeping(order, {0.0, 0.0001}, loops)) {
      EXPECT_EQ(r.phase(Phase::kLayer)->samples_us.size(), 7u) << to_string(order);
    }
  }
  // A cap below the iterations is refused, not silently obeyed.
  LoopCounts loops{1, 8};
  loops.min_seconds = 1.0;
  loops.max_iterations = 7;
  EXPECT_THROW(run_sleeping(CellOrder::kInterleaved, {0.0}, loops), Error);
  loops.min_seconds = std::nan("");
  EXPECT_THROW(run_sleeping(CellOrder::kInterleaved, {0.0}, loops), Error);
}

// A result with layer, dispatch and combine samples.
CellResult synthetic(const std::string& strategy, const std::string& placement, bool baseline,
                     const std::vector<double>& layer_us, const std::vector<double>& exchange_us,
                     bool interleaved) {
  CellResult r;
  r.routing = "vanilla";
  r.strategy = strategy;
  r.placement = placement;
  r.layer = 0;
  r.baseline = baseline;
  r.in_grid = true;
  r.phases[static_cast<int>(Phase::kLayer)] = phase_stats(layer_us);
  std::vector<double> half(exchange_us.size());
  for (size_t i = 0; i < half.size(); ++i) half[i] = exchange_us[i] / 2;
  r.phases[static_cast<int>(Phase::kDispatch)] = phase_stats(half);
  r.phases[static_cast<int>(Phase::kCombine)] = phase_stats(half);
  if (interleaved) {
    r.round_positions.assign(layer_us.size(), baseline ? 0 : 1);
  }
  return r;
}

// Rounds whose drift (a busy neighbour part of the time) moves every cell by up to 3x, and a
// cell 10% faster than the baseline in every round, up to 1% noise.
struct DriftingRounds {
  std::vector<double> base, cell;
  explicit DriftingRounds(int rounds) {
    Rng rng(5, Stream::kHidden, 0);
    for (int r = 0; r < rounds; ++r) {
      const double drift = 1.0 + 2.0 * rng.uniform();
      base.push_back(1000.0 * drift * (1.0 + 0.01 * rng.uniform()));
      cell.push_back(900.0 * drift * (1.0 + 0.01 * rng.uniform()));
    }
  }
};

TEST(Verdict, PairedByRoundSeesAGainThatDriftHidesFromUnpairedIterations) {
  const DriftingRounds d(10);
  std::vector<CellResult> paired = {synthetic("dropless", "contiguous", true, d.base, d.base, true),
                                    synthetic("dedup", "collab", false, d.cell, d.cell, true)};
  add_speedups(paired);
  ASSERT_TRUE(paired[1].speedup_interval);
  EXPECT_TRUE(paired[1].speedup_interval->paired);
  EXPECT_GT(paired[1].speedup_interval->low, 1.0);
  const std::vector<Verdict> v = verdicts(paired);
  ASSERT_EQ(v.size(), 1u);
  EXPECT_EQ(v[0].word(), "faster");
  EXPECT_NEAR(v[0].layer_speedup.ratio, 1.0 / 0.9, 0.05);
  EXPECT_GT(v[0].exchange_speedup.low, 1.0);

  std::vector<CellResult> unpaired = {
      synthetic("dropless", "contiguous", true, d.base, d.base, false),
      synthetic("dedup", "collab", false, d.cell, d.cell, false)};
  add_speedups(unpaired);
  EXPECT_FALSE(unpaired[1].speedup_interval->paired);
  EXPECT_LT(unpaired[1].speedup_interval->low, 1.0);  // the drift swamps a 10% gain
  EXPECT_EQ(verdicts(unpaired)[0].word(), "unclear");
}

TEST(Verdict, SlowerAndUnclearAndLayersSummed) {
  const DriftingRounds d(8);
  std::vector<CellResult> results;
  for (int layer = 0; layer < 2; ++layer) {
    CellResult base = synthetic("dropless", "contiguous", true, d.base, d.base, true);
    // The cell is slower on layer 0 by 11% and as fast as the baseline on layer 1.
    CellResult cell = synthetic("padded", "contiguous", false, layer == 0 ? d.base : d.cell,
                                layer == 0 ? d.base : d.cell, true);
    base.layer = cell.layer = layer;
    if (layer == 0) {
      for (auto& x : cell.phases[static_cast<int>(Phase::kLayer)]->samples_us) x *= 1.25;
    }
    results.push_back(base);
    results.push_back(cell);
  }
  const std::vector<Verdict> v = verdicts(results);
  ASSERT_EQ(v.size(), 1u);
  EXPECT_EQ(v[0].layers, 2);
  // Summed per round: (1.25 b + 0.9 b) / 2 b = 1.075 of the baseline's time.
  EXPECT_NEAR(v[0].layer_speedup.ratio, 1.0 / 1.075, 0.02);
  EXPECT_EQ(v[0].word(), "slower");

  // One sample per side: no interval, no verdict.
  std::vector<CellResult> one = {synthetic("dropless", "contiguous", true, {1000.0}, {10.0}, true),
                                 synthetic("dedup", "collab", false, {500.0}, {5.0}, true)};
  EXPECT_EQ(verdicts(one)[0].word(), "unclear");
}

}  // namespace
}  // namespace c2r
