// Bootstrap intervals of median ratios: unpaired, paired by round, and two-level over repeated
// runs; what each sees of the noise, determinism by seed, and short or empty input.

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

#include "common/error.hpp"
#include "common/rng.hpp"
#include "results/bootstrap.hpp"
#include "results/stats.hpp"

namespace c2r {
namespace {

constexpr double kConfidence = 0.95;
constexpr int kResamples = 2000;

std::vector<double> noisy(double centre, int n, double spread) {
  std::vector<double> v;
  for (int i = 0; i < n; ++i) v.push_back(centre + spread * ((i * 37 % 11) - 5) / 5.0);
  return v;
}

// Repeated runs of one configuration: run r's iterations are centre * (1 + run_offsets[r]) with
// 1% Gaussian noise each; [runs][iterations]. The run offsets (a run effect of several percent)
// are far larger than the iteration noise, as on a machine where a whole run lands on a slower
// socket or frequency.
std::vector<std::vector<double>> runs_with_effect(double centre,
                                                  const std::vector<double>& run_offsets,
                                                  int iterations, uint64_t seed) {
  std::vector<std::vector<double>> runs;
  for (size_t r = 0; r < run_offsets.size(); ++r) {
    Rng rng(seed, Stream::kPlacement, r);
    std::vector<double> run;
    for (int i = 0; i < iterations; ++i) {
      run.push_back(centre * (1.0 + run_offsets[r]) * (1.0 + 0.01 * rng.normal()));
    }
    runs.push_back(run);
  }
  return runs;
}

double width(const RatioInterval& r) {
  return r.high - r.low;
}

bool includes_one(const RatioInterval& r) {
  return r.low <= 1.0 && r.high >= 1.0;
}

TEST(Bootstrap, UnpairedIntervalOfTheMedianRatio) {
  const std::vector<double> a = noisy(100, 30, 5);
  const RatioInterval same = bootstrap_median_ratio(a, a, kConfidence, kResamples, 1);
  EXPECT_DOUBLE_EQ(same.ratio, 1.0);
  EXPECT_TRUE(includes_one(same));
  const RatioInterval slower =
      bootstrap_median_ratio(a, noisy(150, 30, 5), kConfidence, kResamples, 1);
  EXPECT_NEAR(slower.ratio, 1.5, 1e-12);
  EXPECT_GT(slower.low, 1.3);
  EXPECT_LT(slower.high, 1.7);
  EXPECT_LE(slower.low, slower.ratio);
  EXPECT_GE(slower.high, slower.ratio);
}

// The case a single-run interval gets wrong: both sides come from the same distribution of runs,
// but the one run each side happened to get differs by its run effect. The iterations of one run
// each call that a 15% difference; the runs' bootstrap knows runs move that much and includes 1.
TEST(Bootstrap, TwoLevelIntervalIncludesTheRunEffect) {
  const auto a_runs = runs_with_effect(100, {-0.08, 0.06, -0.02, 0.09, -0.05}, 20, 11);
  const auto b_runs = runs_with_effect(100, {0.07, -0.06, 0.01, -0.09, 0.04}, 20, 12);
  const RatioInterval one_run_each =
      bootstrap_median_ratio(a_runs[0], b_runs[0], kConfidence, kResamples, 1);
  EXPECT_GT(one_run_each.low, 1.1);  // "slower", from the run effect alone

  const RatioInterval runs =
      bootstrap_runs_median_ratio(a_runs, b_runs, kConfidence, kResamples, 1);
  EXPECT_TRUE(includes_one(runs)) << runs.low << " .. " << runs.high;
  EXPECT_LE(runs.low, runs.ratio);
  EXPECT_GE(runs.high, runs.ratio);
  // The point ratio is that of the pooled medians.
  std::vector<double> a_pooled, b_pooled;
  for (const auto& r : a_runs) a_pooled.insert(a_pooled.end(), r.begin(), r.end());
  for (const auto& r : b_runs) b_pooled.insert(b_pooled.end(), r.begin(), r.end());
  const RatioInterval pooled =
      bootstrap_median_ratio(a_pooled, b_pooled, kConfidence, kResamples, 1);
  EXPECT_DOUBLE_EQ(runs.ratio, pooled.ratio);
  // Pooling the iterations and resampling them as one run hides the run effect: drawing runs
  // first gives a clearly wider interval.
  EXPECT_GT(width(runs), 1.5 * width(pooled)) << width(runs) << " vs " << width(pooled);
}

TEST(Bootstrap, TwoLevelIntervalFindsADifferenceLargerThanTheRunEffect) {
  const std::vector<double> offsets = {-0.08, 0.06, -0.02, 0.09, -0.05};
  const auto a_runs = runs_with_effect(100, offsets, 20, 21);
  const auto b_runs = runs_with_effect(130, offsets, 20, 22);
  const RatioInterval r = bootstrap_runs_median_ratio(a_runs, b_runs, kConfidence, kResamples, 1);
  EXPECT_NEAR(r.ratio, 1.3, 0.05);
  EXPECT_GT(r.low, 1.1);
  EXPECT_LT(r.high, 1.5);
}

TEST(Bootstrap, OneRunPerSideIsTheUnpairedBootstrap) {
  const std::vector<double> a = noisy(100, 12, 4), b = noisy(110, 9, 4);
  const RatioInterval runs = bootstrap_runs_median_ratio({a}, {b}, kConfidence, kResamples, 3);
  const RatioInterval unpaired = bootstrap_median_ratio(a, b, kConfidence, kResamples, 3);
  EXPECT_EQ(runs.ratio, unpaired.ratio);
  EXPECT_EQ(runs.low, unpaired.low);
  EXPECT_EQ(runs.high, unpaired.high);
  // Empty runs (a cell missing from a run) are ignored.
  const RatioInterval with_empty =
      bootstrap_runs_median_ratio({{}, a}, {b, {}}, kConfidence, kResamples, 3);
  EXPECT_EQ(with_empty.low, unpaired.low);
  EXPECT_EQ(with_empty.high, unpaired.high);
}

// Rounds share a drift (the machine slows down and recovers) far larger than the noise within a
// round; b is 5% slower than a in every round. Pairing cancels the drift.
TEST(Bootstrap, PairedRoundsCancelACommonDrift) {
  std::vector<double> a, b;
  Rng rng(5, Stream::kPlacement, 0);
  for (int round = 0; round < 30; ++round) {
    const double drift = 100.0 * (1.0 + 0.2 * std::sin(round * 0.7));
    a.push_back(drift * (1.0 + 0.005 * rng.normal()));
    b.push_back(1.05 * drift * (1.0 + 0.005 * rng.normal()));
  }
  const RatioInterval paired = bootstrap_paired_median_ratio(a, b, kConfidence, kResamples, 1);
  const RatioInterval unpaired = bootstrap_median_ratio(a, b, kConfidence, kResamples, 1);
  EXPECT_EQ(paired.ratio, unpaired.ratio);
  EXPECT_TRUE(includes_one(unpaired)) << unpaired.low << " .. " << unpaired.high;
  EXPECT_GT(paired.low, 1.0) << paired.low;
  EXPECT_LT(width(paired), 0.5 * width(unpaired)) << width(paired) << " vs " << width(unpaired);
  EXPECT_THROW(bootstrap_paired_median_ratio(a, {1.0, 2.0}, kConfidence, kResamples, 1), Error);
}

TEST(Bootstrap, SeededAndDeterministic) {
  const auto a_runs = runs_with_effect(100, {-0.05, 0.0, 0.05}, 10, 31);
  const auto b_runs = runs_with_effect(105, {0.02, -0.03, 0.04}, 10, 32);
  const RatioInterval first = bootstrap_runs_median_ratio(a_runs, b_runs, kConfidence, 500, 7);
  const RatioInterval again = bootstrap_runs_median_ratio(a_runs, b_runs, kConfidence, 500, 7);
  const RatioInterval other = bootstrap_runs_median_ratio(a_runs, b_runs, kConfidence, 500, 8);
  EXPECT_EQ(first.low, again.low);
  EXPECT_EQ(first.high, again.high);
  EXPECT_EQ(first.ratio, other.ratio);
  EXPECT_TRUE(first.low != other.low || first.high != other.high);
  const std::vector<double> a = noisy(100, 20, 5), b = noisy(104, 20, 5);
  EXPECT_EQ(bootstrap_paired_median_ratio(a, b, kConfidence, 500, 7).low,
            bootstrap_paired_median_ratio(a, b, kConfidence, 500, 7).low);
  EXPECT_EQ(bootstrap_median_ratio(a, b, kConfidence, 500, 7).high,
            bootstrap_median_ratio(a, b, kConfidence, 500, 7).high);
}

TEST(Bootstrap, EmptyAndShortInput) {
  EXPECT_FALSE(enough_to_decide(0));
  EXPECT_FALSE(enough_to_decide(1));
  EXPECT_TRUE(enough_to_decide(2));
  const std::vector<double> a = {96, 98, 100, 102, 104, 100, 99, 101, 100, 100};  // median 100
  // Empty: no ratio.
  const RatioInterval empty = bootstrap_median_ratio({}, a, kConfidence, kResamples, 1);
  EXPECT_EQ(empty.ratio, 0.0);
  EXPECT_EQ(empty.low, 0.0);
  EXPECT_EQ(empty.high, 0.0);
  EXPECT_EQ(bootstrap_runs_median_ratio({{}, {}}, {a}, kConfidence, kResamples, 1).ratio, 0.0);
  EXPECT_EQ(bootstrap_paired_median_ratio({}, {}, kConfidence, kResamples, 1).ratio, 0.0);
  // Non-positive medians: no ratio.
  EXPECT_EQ(bootstrap_median_ratio({0.0, 0.0, 0.0}, a, kConfidence, kResamples, 1).ratio, 0.0);
  // One sample on a side: the point ratio and no interval, even though the other side has many.
  const RatioInterval single = bootstrap_median_ratio({120.0}, a, kConfidence, kResamples, 1);
  EXPECT_NEAR(single.ratio, 100.0 / 120.0, 1e-12);
  EXPECT_EQ(single.low, single.ratio);
  EXPECT_EQ(single.high, single.ratio);
  const RatioInterval single_run =
      bootstrap_runs_median_ratio({a}, {{}, {80.0}}, kConfidence, kResamples, 1);
  EXPECT_NEAR(single_run.ratio, 0.8, 1e-12);
  EXPECT_EQ(single_run.low, single_run.high);
  // Bad levels and resample counts are refused.
  EXPECT_THROW(bootstrap_median_ratio(a, a, 1.0, kResamples, 1), Error);
  EXPECT_THROW(bootstrap_runs_median_ratio({a}, {a}, kConfidence, 0, 1), Error);
}

// Rounds whose drift scales both sides by up to 3x, the second side 20% slower in every round and
// two rounds where the drift hit only one side's half (a busy neighbour mid-round): the median of
// the per-round ratios stays at 1.2; the ratio of the medians moves with which rounds the medians
// come from.
TEST(Bootstrap, MedianOfPairedRatiosFollowsEveryRoundsRatio) {
  std::vector<double> a, b;
  Rng rng(11, Stream::kHidden, 0);
  for (int round = 0; round < 9; ++round) {
    const double drift = 1.0 + 2.0 * rng.uniform();
    a.push_back(100.0 * drift);
    b.push_back(120.0 * drift * (1.0 + 0.002 * rng.uniform()));
  }
  a[0] *= 3.0;  // the drift of two rounds lands on one side only
  b[1] *= 3.0;
  const RatioInterval r = bootstrap_paired_ratio_median(a, b, 0.95, 2000, 3);
  EXPECT_NEAR(r.ratio, 1.2, 0.002);
  EXPECT_LT(r.low, r.ratio);
  EXPECT_GT(r.high, r.ratio);
  EXPECT_GT(r.low, 1.15);
  EXPECT_LT(r.high, 1.25);
  // Deterministic by seed; refuses unpaired lengths; one round gives no interval.
  const RatioInterval again = bootstrap_paired_ratio_median(a, b, 0.95, 2000, 3);
  EXPECT_EQ(again.low, r.low);
  EXPECT_EQ(again.high, r.high);
  EXPECT_THROW(bootstrap_paired_ratio_median({1.0, 2.0}, {1.0}, 0.95, 100, 1), Error);
  const RatioInterval one = bootstrap_paired_ratio_median({100.0}, {150.0}, 0.95, 100, 1);
  EXPECT_DOUBLE_EQ(one.ratio, 1.5);
  EXPECT_EQ(one.low, one.high);
}

TEST(Bootstrap, EvenlySpacedKeepsTheFirstAndSpreadsOverTheWhole) {
  std::vector<double> ramp(100);
  for (size_t i = 0; i < ramp.size(); ++i) ramp[i] = static_cast<double>(i);
  EXPECT_EQ(evenly_spaced(ramp, 10), (std::vector<double>{0, 10, 20, 30, 40, 50, 60, 70, 80, 90}));
  EXPECT_EQ(evenly_spaced(ramp, 100), ramp);  // no more than kept: all, in order
  EXPECT_EQ(evenly_spaced(ramp, 1000), ramp);
  EXPECT_EQ(evenly_spaced(ramp, 3), (std::vector<double>{0, 33, 66}));

  // Runs thinned together: every non-empty run keeps a sample, shares follow the run lengths, and
  // the total stays within what is kept.
  const std::vector<std::vector<double>> runs = {std::vector<double>(3, 1.0),
                                                 {},
                                                 std::vector<double>(50000, 2.0),
                                                 std::vector<double>(20000, 3.0)};
  const auto thinned = evenly_spaced_runs(runs, kMaxBootstrapSamples);
  ASSERT_EQ(thinned.size(), 4u);
  EXPECT_GE(thinned[0].size(), 1u);
  EXPECT_TRUE(thinned[1].empty());
  size_t total = 0;
  for (const auto& run : thinned) total += run.size();
  EXPECT_LE(total, kMaxBootstrapSamples);
  EXPECT_GE(total, kMaxBootstrapSamples - 4);
  EXPECT_NEAR(static_cast<double>(thinned[2].size()) / thinned[3].size(), 2.5, 0.01);
  EXPECT_EQ(evenly_spaced_runs(runs, 100000), runs);
}

// Bounded work: a side of more than kMaxBootstrapSamples is resampled from that many, evenly
// spaced; the point ratio is still every sample's, the interval still seeded, and the result says
// it was thinned.
TEST(Bootstrap, LargeSidesAreThinnedForTheResamplesOnly) {
  Rng rng(21, Stream::kPlacement, 0);
  std::vector<double> a, b;
  for (int i = 0; i < 40000; ++i) a.push_back(100.0 * (1.0 + 0.02 * rng.normal()));
  for (int i = 0; i < 30000; ++i) b.push_back(104.0 * (1.0 + 0.02 * rng.normal()));
  const RatioInterval r = bootstrap_median_ratio(a, b, kConfidence, kResamples, 3);
  EXPECT_TRUE(r.thinned);
  EXPECT_EQ(r.drawn_a, kMaxBootstrapSamples);
  EXPECT_EQ(r.drawn_b, kMaxBootstrapSamples);
  std::vector<double> sa = a, sb = b;
  std::sort(sa.begin(), sa.end());
  std::sort(sb.begin(), sb.end());
  EXPECT_DOUBLE_EQ(r.ratio, percentile(sb, 0.5) / percentile(sa, 0.5));  // every sample
  EXPECT_GT(r.low, 1.0);  // a 4% difference over 10,000 samples a side is still seen
  EXPECT_LT(r.low, r.ratio);
  EXPECT_GT(r.high, r.ratio);
  const RatioInterval again = bootstrap_median_ratio(a, b, kConfidence, kResamples, 3);
  EXPECT_EQ(again.low, r.low);
  EXPECT_EQ(again.high, r.high);

  // Paired: the same rounds of both sides are kept.
  std::vector<double> a_rounds(a.begin(), a.begin() + 30000);
  const RatioInterval rounds = bootstrap_paired_ratio_median(a_rounds, b, kConfidence, 200, 3);
  EXPECT_TRUE(rounds.thinned);
  EXPECT_EQ(rounds.drawn_a, kMaxBootstrapSamples);
  const RatioInterval medians = bootstrap_paired_median_ratio(a_rounds, b, kConfidence, 200, 3);
  EXPECT_TRUE(medians.thinned);
  EXPECT_EQ(medians.drawn_b, kMaxBootstrapSamples);
  const RatioInterval two_level =
      bootstrap_runs_median_ratio({a_rounds, a}, {b}, kConfidence, 200, 3);
  EXPECT_TRUE(two_level.thinned);
  EXPECT_LE(two_level.drawn_a, kMaxBootstrapSamples);
  EXPECT_EQ(two_level.drawn_b, kMaxBootstrapSamples);
  const RatioInterval small =
      bootstrap_median_ratio(noisy(100, 30, 5), noisy(110, 30, 5), kConfidence, kResamples, 1);
  EXPECT_FALSE(small.thinned);
  EXPECT_EQ(small.drawn_a, 30u);
}

TEST(Bootstrap, ResamplesAboveTheCapAreRefused) {
  const std::vector<double> a = noisy(100, 10, 5);
  EXPECT_THROW(bootstrap_median_ratio(a, a, kConfidence, kMaxResamples + 1, 1), Error);
  EXPECT_THROW(bootstrap_paired_ratio_median(a, a, kConfidence, kMaxResamples + 1, 1), Error);
  EXPECT_THROW(bootstrap_runs_median_ratio({a}, {a}, kConfidence, kMaxResamples + 1, 1), Error);
  EXPECT_NO_THROW(bootstrap_median_ratio(a, a, kConfidence, kMaxResamples, 1));
}

// A resample whose reference median is 0 against a positive one is an infinite ratio, not a
// resample to leave out: leaving them out collapsed this interval onto [2, 2].
TEST(Bootstrap, ZeroReferenceMediansInResamplesLeaveTheIntervalOpenAbove) {
  const std::vector<double> a = {0, 0, 0, 0, 5, 5, 5, 5, 5};  // median 5; often 0 when resampled
  const std::vector<double> b = {10, 10, 10, 10, 10, 10, 10, 10, 10};
  const RatioInterval r = bootstrap_median_ratio(a, b, kConfidence, kResamples, 1);
  EXPECT_DOUBLE_EQ(r.ratio, 2.0);
  EXPECT_DOUBLE_EQ(r.low, 2.0);
  EXPECT_TRUE(std::isinf(r.high)) << r.high;
}

}  // namespace
}  // namespace c2r
