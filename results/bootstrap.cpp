#include "results/bootstrap.hpp"

#include <algorithm>
#include <cstddef>
#include <limits>

#include "common/error.hpp"
#include "common/rng.hpp"
#include "results/stats.hpp"

namespace c2r {

namespace {

// Each kind of bootstrap draws from its own key, so two kinds never share random numbers; the
// unpaired key is the one compare has always used (the same files give the same interval).
constexpr uint64_t kUnpairedKey = 991;  // also the two-level bootstrap's (see its header)
constexpr uint64_t kPairedKey = 992;
constexpr uint64_t kPairedRatiosKey = 993;

// The median of `values` (reordered): percentile(sorted, 0.5) to the bit, by selection instead of
// a sort, since every resample takes two.
double median_in_place(std::vector<double>& values) {
  if (values.empty()) return 0.0;
  const size_t n = values.size();
  const auto upper = values.begin() + static_cast<std::ptrdiff_t>(n / 2);
  std::nth_element(values.begin(), upper, values.end());
  if (n % 2 == 1) return *upper;
  const double lower = *std::max_element(values.begin(), upper);
  return lower * 0.5 + *upper * 0.5;
}

double median(std::vector<double> values) {
  return median_in_place(values);
}

void check_arguments(double confidence, int resamples) {
  C2R_CHECK(confidence > 0.0 && confidence < 1.0,
            "the bootstrap confidence level must be between 0 and 1, not " << confidence);
  C2R_CHECK(resamples >= 1, "the bootstrap needs at least one resample, not " << resamples);
  C2R_CHECK(resamples <= kMaxResamples,
            "the bootstrap takes at most " << kMaxResamples << " resamples, not " << resamples);
}

// Paired samples come one of each side per round.
void check_paired(const std::vector<double>& a, const std::vector<double>& b) {
  C2R_CHECK(a.size() == b.size(), "a paired bootstrap needs one sample of each side per round ("
                                      << a.size() << " and " << b.size() << " samples)");
}

// The point ratio of two medians; zeros when either is not positive (no ratio to bootstrap).
RatioInterval point_ratio(double median_a, double median_b) {
  RatioInterval r;
  if (median_a <= 0.0 || median_b <= 0.0) return r;
  r.ratio = median_b / median_a;
  r.low = r.high = r.ratio;
  return r;
}

// The percentile interval of `resamples` bootstrap ratios around the point `r`. draw(rng, ra, rb)
// fills one resample of each side; resample i draws from its own counter-based key, so the
// interval does not depend on the order resamples are taken in.
// A resample whose reference median is 0 against a positive one has an infinite ratio, and counts
// as one: leaving it out would pull the interval towards "faster" exactly when the reference is
// least certain. One with both medians 0 has no ratio and is left out.
template <typename Draw>
RatioInterval percentile_interval(RatioInterval r, double confidence, int resamples, uint64_t seed,
                                  uint64_t key, Draw draw) {
  std::vector<double> ratios, ra, rb;
  ratios.reserve(static_cast<size_t>(resamples));
  for (int i = 0; i < resamples; ++i) {
    Rng rng(seed, Stream::kPlacement, static_cast<uint64_t>(i), key);
    draw(rng, ra, rb);
    const double resampled = median_in_place(ra), other = median_in_place(rb);
    if (resampled > 0.0) {
      ratios.push_back(other / resampled);
    } else if (other > 0.0) {
      ratios.push_back(std::numeric_limits<double>::infinity());
    }
  }
  if (ratios.empty()) return r;
  std::sort(ratios.begin(), ratios.end());
  const double tail = (1.0 - confidence) / 2.0;
  r.low = percentile(ratios, tail);
  r.high = percentile(ratios, 1.0 - tail);
  return r;
}

// One side's samples resampled in two levels: runs.size() runs drawn with replacement (none
// drawn when there is one run), then each drawn run's iterations with replacement; `out` gets
// them pooled.
void draw_runs(Rng& rng, const std::vector<const std::vector<double>*>& runs,
               std::vector<double>& out) {
  out.clear();
  for (size_t k = 0; k < runs.size(); ++k) {
    const std::vector<double>& run = runs.size() == 1 ? *runs[0] : *runs[rng.below(runs.size())];
    for (size_t j = 0; j < run.size(); ++j) out.push_back(run[rng.below(run.size())]);
  }
}

}  // namespace

bool enough_to_decide(size_t samples) {
  return samples >= kMinSamplesToDecide;
}

std::vector<double> evenly_spaced(const std::vector<double>& samples, size_t keep) {
  const size_t n = samples.size();
  if (n <= keep) return samples;
  std::vector<double> kept(keep);
  // i * n stays far below 2^64: keep is at most a side's count, n a vector's size.
  for (size_t i = 0; i < keep; ++i) kept[i] = samples[i * n / keep];
  return kept;
}

std::vector<std::vector<double>> evenly_spaced_runs(const std::vector<std::vector<double>>& runs,
                                                    size_t keep) {
  size_t pooled = 0, non_empty = 0;
  for (const auto& run : runs) {
    pooled += run.size();
    non_empty += run.empty() ? 0 : 1;
  }
  if (pooled <= keep) return runs;
  std::vector<std::vector<double>> kept;
  kept.reserve(runs.size());
  for (const auto& run : runs) {
    if (run.empty() || non_empty >= keep) {
      kept.push_back(evenly_spaced(run, run.empty() ? 0 : 1));
      continue;
    }
    // One sample for every run, the rest shared in proportion: sum over runs of
    // 1 + (m - 1) * (keep - runs) / (pooled - runs) is at most keep, and each share at most m.
    const size_t share = 1 + (run.size() - 1) * (keep - non_empty) / (pooled - non_empty);
    kept.push_back(evenly_spaced(run, share));
  }
  return kept;
}

RatioInterval bootstrap_median_ratio(const std::vector<double>& a, const std::vector<double>& b,
                                     double confidence, int resamples, uint64_t seed) {
  check_arguments(confidence, resamples);
  if (a.empty() || b.empty()) return {};
  RatioInterval r = point_ratio(median(a), median(b));
  if (r.ratio == 0.0 || !enough_to_decide(a.size()) || !enough_to_decide(b.size())) return r;
  const std::vector<double> da = evenly_spaced(a, kMaxBootstrapSamples);
  const std::vector<double> db = evenly_spaced(b, kMaxBootstrapSamples);
  r.drawn_a = da.size();
  r.drawn_b = db.size();
  r.thinned = da.size() < a.size() || db.size() < b.size();
  return percentile_interval(r, confidence, resamples, seed, kUnpairedKey,
                             [&](Rng& rng, std::vector<double>& ra, std::vector<double>& rb) {
                               ra.resize(da.size());
                               rb.resize(db.size());
                               for (auto& v : ra) v = da[rng.below(da.size())];
                               for (auto& v : rb) v = db[rng.below(db.size())];
                             });
}

RatioInterval bootstrap_paired_median_ratio(const std::vector<double>& a,
                                            const std::vector<double>& b, double confidence,
                                            int resamples, uint64_t seed) {
  check_arguments(confidence, resamples);
  check_paired(a, b);
  if (a.empty()) return {};
  RatioInterval r = point_ratio(median(a), median(b));
  if (r.ratio == 0.0 || !enough_to_decide(a.size())) return r;
  // The same rounds of both sides, so that the pairs stay pairs.
  const std::vector<double> da = evenly_spaced(a, kMaxBootstrapSamples);
  const std::vector<double> db = evenly_spaced(b, kMaxBootstrapSamples);
  r.drawn_a = r.drawn_b = da.size();
  r.thinned = da.size() < a.size();
  return percentile_interval(r, confidence, resamples, seed, kPairedKey,
                             [&](Rng& rng, std::vector<double>& ra, std::vector<double>& rb) {
                               ra.resize(da.size());
                               rb.resize(db.size());
                               for (size_t k = 0; k < da.size(); ++k) {
                                 const size_t round = rng.below(da.size());
                                 ra[k] = da[round];
                                 rb[k] = db[round];
                               }
                             });
}

RatioInterval bootstrap_paired_ratio_median(const std::vector<double>& a,
                                            const std::vector<double>& b, double confidence,
                                            int resamples, uint64_t seed) {
  check_arguments(confidence, resamples);
  check_paired(a, b);
  std::vector<double> ratios;  // [rounds with both sides positive] b / a
  for (size_t i = 0; i < a.size(); ++i) {
    if (a[i] > 0.0 && b[i] > 0.0) ratios.push_back(b[i] / a[i]);
  }
  if (ratios.empty()) return {};
  RatioInterval r;
  r.ratio = r.low = r.high = median(ratios);
  if (!enough_to_decide(ratios.size())) return r;
  const std::vector<double> drawn = evenly_spaced(ratios, kMaxBootstrapSamples);
  r.drawn_a = r.drawn_b = drawn.size();
  r.thinned = drawn.size() < ratios.size();
  // The resampled statistic is median(rb) / median(ra) with ra = {1}: the median of the ratios.
  return percentile_interval(r, confidence, resamples, seed, kPairedRatiosKey,
                             [&](Rng& rng, std::vector<double>& ra, std::vector<double>& rb) {
                               ra.assign(1, 1.0);
                               rb.resize(drawn.size());
                               for (auto& v : rb) v = drawn[rng.below(drawn.size())];
                             });
}

RatioInterval bootstrap_runs_median_ratio(const std::vector<std::vector<double>>& a_runs,
                                          const std::vector<std::vector<double>>& b_runs,
                                          double confidence, int resamples, uint64_t seed) {
  check_arguments(confidence, resamples);
  // Each side: all its samples pooled (the point ratio), and its non-empty runs, thinned (the
  // resamples).
  auto pool = [](const std::vector<std::vector<double>>& runs) {
    std::vector<double> pooled;
    for (const auto& run : runs) pooled.insert(pooled.end(), run.begin(), run.end());
    return pooled;
  };
  auto non_empty = [](const std::vector<std::vector<double>>& runs, size_t& samples) {
    std::vector<const std::vector<double>*> kept;
    for (const auto& run : runs) {
      if (run.empty()) continue;
      kept.push_back(&run);
      samples += run.size();
    }
    return kept;
  };
  const std::vector<double> a_pooled = pool(a_runs), b_pooled = pool(b_runs);
  if (a_pooled.empty() || b_pooled.empty()) return {};
  RatioInterval r = point_ratio(median(a_pooled), median(b_pooled));
  if (r.ratio == 0.0 || !enough_to_decide(a_pooled.size()) || !enough_to_decide(b_pooled.size())) {
    return r;
  }
  const auto a_thinned = evenly_spaced_runs(a_runs, kMaxBootstrapSamples);
  const auto b_thinned = evenly_spaced_runs(b_runs, kMaxBootstrapSamples);
  const std::vector<const std::vector<double>*> a_kept = non_empty(a_thinned, r.drawn_a);
  const std::vector<const std::vector<double>*> b_kept = non_empty(b_thinned, r.drawn_b);
  r.thinned = r.drawn_a < a_pooled.size() || r.drawn_b < b_pooled.size();
  return percentile_interval(r, confidence, resamples, seed, kUnpairedKey,
                             [&](Rng& rng, std::vector<double>& ra, std::vector<double>& rb) {
                               draw_runs(rng, a_kept, ra);
                               draw_runs(rng, b_kept, rb);
                             });
}

}  // namespace c2r
