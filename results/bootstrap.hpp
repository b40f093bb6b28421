#pragma once
// Percentile-bootstrap intervals of a ratio of medians (b / a) between two sets of per-iteration
// times, for the three ways the samples can relate:
//   - unpaired: a and b are independent samples of one run each;
//   - paired:   a[i] and b[i] were measured in the same round (cells interleaved round by round),
//               so a drift common to both moves them together;
//   - runs:     each side is several repeated runs, and a whole run can move more than its
//               iterations spread (a run effect: placement of memory, frequency, neighbours).
// Every function is seeded: the same inputs, seed and resample count give the same interval.
// Every function takes at most kMaxResamples resamples (more is a c2r::Error) of at most
// kMaxBootstrapSamples samples a side (more are thinned), so its work is bounded by the input's
// size only through the medians of the point ratio.

#include <cstddef>
#include <cstdint>
#include <vector>

namespace c2r {

// A point ratio of medians and its interval [low, high] at the requested confidence.
// ratio == 0 with low == high == 0: no ratio (a side is empty or a median is not positive).
// low == high == ratio: no interval (a side has fewer than kMinSamplesToDecide samples).
// high is +infinity when more than the upper tail of the resamples drew a reference median of 0
// against a positive one: the data cannot bound the ratio from above.
struct RatioInterval {
  double ratio = 0.0, low = 0.0, high = 0.0;
  // The samples (paired: rounds) of each side the resamples drew from; 0 and 0 when nothing was
  // resampled. Fewer than the side has when it was thinned to kMaxBootstrapSamples.
  size_t drawn_a = 0, drawn_b = 0;
  bool thinned = false;  // a side was thinned (see kMaxBootstrapSamples)
};

// Bounds on the work of one interval, whatever the input. A resample draws as many samples as its
// side has, so a side of a million iterations times thousands of resamples runs for minutes. A
// side of more than kMaxBootstrapSamples samples is therefore resampled from kMaxBootstrapSamples
// of them, evenly spaced in sample order (evenly_spaced: deterministic, and a drift over the run
// stays represented over its whole length). The point ratio still uses every sample; only the
// spread comes from the thinned set, and fewer samples give a wider interval, never a narrower
// one in expectation: a verdict from a thinned side is conservative.
constexpr size_t kMaxBootstrapSamples = 10000;
// The most resamples an interval takes: at 100,000 the bounds' own Monte Carlo error is far below
// the third decimal the ratios are printed with, and the cost grows in proportion.
constexpr int kMaxResamples = 100000;

// `samples` when it has at most `keep`; otherwise `keep` of them evenly spaced in sample order:
// samples[i * n / keep] for i < keep (the first always kept).
std::vector<double> evenly_spaced(const std::vector<double>& samples, size_t keep);

// Runs thinned together to at most `keep` samples in all (when they pool more): every non-empty
// run keeps at least one sample and otherwise its share of the rest, evenly spaced within it, so
// that the two-level bootstrap still sees every run. More non-empty runs than `keep` keep one
// sample each. Empty runs stay empty.
std::vector<std::vector<double>> evenly_spaced_runs(const std::vector<std::vector<double>>& runs,
                                                    size_t keep);

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
