#pragma once
// Percentile-bootstrap intervals of a ratio of medians (b / a) between two sets of per-iteration
// times, for the three ways the samples can relate:
//   - unpaired: a and b are independent samples of one run each;
//   - paired:   a[i] and b[i] were measured in the same round (cells interleaved round by round),
//               so a drift common to both moves them together;
//   - runs:     each side is several repeated runs, and a whole run can move more than its
//               iterations spread (a run effect: placement of memory, frequency, neighbours).
// Every function is seeded: the same inputs, seed and resample count give the same interval.

#include <cstddef>
#include <cstdint>
#include <vector>

namespace c2r {

// A point ratio of medians and its interval [low, high] at the requested confidence.
// ratio == 0 with low == high == 0: no ratio (a side is empty or a median is not positive).
// low == high == ratio: no interval (a side has fewer than kMinSamplesToDecide samples).
struct RatioInterval {
  double ratio = 0.0, low = 0.0, high = 0.0;
};

// Fewest samples a side needs before its ratio can be called different from 1: with one sample
// the bootstrap cannot see any spread, and its interval would collapse to the point ratio.
constexpr size_t kMinSamplesToDecide = 2;

// Whether a side with `samples` samples (pooled over its runs) is enough to decide on.
bool enough_to_decide(size_t samples);

// Unpaired: a (size na) and b (size nb) are each resampled with replacement, independently;
// ratio = median(b) / median(a).
RatioInterval bootstrap_median_ratio(const std::vector<double>& a, const std::vector<double>& b,
                                     double confidence, int resamples, uint64_t seed);

// Paired: a and b have the same length n, a[i] and b[i] measured in round i. Each resample draws
// n round indices with replacement and takes a[i] and b[i] for the same i, so a drift shared by
// both sides within a round cancels in the ratio instead of widening the interval.
// ratio = median(b) / median(a). Throws c2r::Error when the lengths differ.
RatioInterval bootstrap_paired_median_ratio(const std::vector<double>& a,
                                            const std::vector<double>& b, double confidence,
                                            int resamples, uint64_t seed);

// Paired, the median of the per-round ratios: ratio = median over rounds i of b[i] / a[i] (rounds
// with a side not positive are skipped). Each resample draws rounds with replacement and takes the
// median of their ratios. A drift that scales a whole round scales both of its samples and leaves
// its ratio alone, so this moves less with the machine's mood than a ratio of medians, whose two
// medians may come from different rounds. Throws c2r::Error when the lengths differ.
RatioInterval bootstrap_paired_ratio_median(const std::vector<double>& a,
                                            const std::vector<double>& b, double confidence,
                                            int resamples, uint64_t seed);

// Two-level: a_runs is [runs of side a][iterations of that run], b_runs likewise (runs may have
// different lengths; empty runs are ignored). Each resample, on each side independently, draws
// as many runs as the side has, with replacement, then draws each drawn run's iterations with
// replacement within it, pools them, and takes the ratio of the pooled medians. The interval
// thereby includes how much a whole run moves, not only how its iterations spread.
// ratio = median(all b samples pooled) / median(all a samples pooled). A side of one run draws
// no run index, so with one run per side this is bootstrap_median_ratio of those two runs, draw
// for draw (the same interval).
RatioInterval bootstrap_runs_median_ratio(const std::vector<std::vector<double>>& a_runs,
                                          const std::vector<std::vector<double>>& b_runs,
                                          double confidence, int resamples, uint64_t seed);

}  // namespace c2r
