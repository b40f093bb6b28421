#include "results/bootstrap.hpp"

#include <algorithm>

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

double median(std::vector<double> values) {
  std::sort(values.begin(), values.end());
  return percentile(values, 0.5);
}

void check_arguments(double confidence, int resamples) {
  C2R_CHECK(confidence > 0.0 && confidence < 1.0,
            "the bootstrap confidence level must be between 0 and 1, not " << confidence);
  C2R_CHECK(resamples >= 1, "the bootstrap needs at least one resample, not " << resamples);
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
template <typename Draw>
RatioInterval percentile_interval(RatioInterval r, double confidence, int resamples, uint64_t seed,
                                  uint64_t key, Draw draw) {
  std::vector<double> ratios, ra, rb;
  ratios.reserve(static_cast<size_t>(resamples));
  for (int i = 0; i < resamples; ++i) {
    Rng rng(seed, Stream::kPlacement, static_cast<uint64_t>(i), key);
    draw(rng, ra, rb);
    const double resampled = median(ra);
    if (resampled > 0.0) ratios.push_back(median(rb) / resampled);
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

RatioInterval bootstrap_median_ratio(const std::vector<double>& a, const std::vector<double>& b,
                                     double confidence, int resamples, uint64_t seed) {
  check_arguments(confidence, resamples);
  if (a.empty() || b.empty()) return {};
  const RatioInterval r = point_ratio(median(a), median(b));
  if (r.ratio == 0.0 || !enough_to_decide(a.size()) || !enough_to_decide(b.size())) return r;
  return percentile_interval(r, confidence, resamples, seed, kUnpairedKey,
                             [&](Rng& rng, std::vector<double>& ra, std::vector<double>& rb) {
                               ra.resize(a.size());
                               rb.resize(b.size());
                               for (auto& v : ra) v = a[rng.below(a.size())];
                               for (auto& v : rb) v = b[rng.below(b.size())];
                             });
}

RatioInterval bootstrap_paired_median_ratio(const std::vector<double>& a,
                                            const std::vector<double>& b, double confidence,
                                            int resamples, uint64_t seed) {
  check_arguments(confidence, resamples);
  check_paired(a, b);
  if (a.empty()) return {};
  const RatioInterval r = point_ratio(median(a), median(b));
  if (r.ratio == 0.0 || !enough_to_decide(a.size())) return r;
  return percentile_interval(r, confidence, resamples, seed, kPairedKey,
                             [&](Rng& rng, std::vector<double>& ra, std::vector<double>& rb) {
                               ra.resize(a.size());
                               rb.resize(b.size());
                               for (size_t k = 0; k < a.size(); ++k) {
                                 const size_t round = rng.below(a.size());
                                 ra[k] = a[round];
                                 rb[k] = b[round];
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
  // The resampled statistic is median(rb) / median(ra) with ra = {1}: the median of the ratios.
  return percentile_interval(r, confidence, resamples, seed, kPairedRatiosKey,
                             [&](Rng& rng, std::vector<double>& ra, std::vector<double>& rb) {
                               ra.assign(1, 1.0);
                               rb.resize(ratios.size());
                               for (auto& v : rb) v = ratios[rng.below(ratios.size())];
                             });
}

RatioInterval bootstrap_runs_median_ratio(const std::vector<std::vector<double>>& a_runs,
                                          const std::vector<std::vector<double>>& b_runs,
                                          double confidence, int resamples, uint64_t seed) {
  check_arguments(confidence, resamples);
  // Each side: its non-empty runs, and all their samples pooled.
  auto gather = [](const std::vector<std::vector<double>>& runs,
                   std::vector<const std::vector<double>*>& kept, std::vector<double>& pooled) {
    for (const auto& run : runs) {
      if (run.empty()) continue;
      kept.push_back(&run);
      pooled.insert(pooled.end(), run.begin(), run.end());
    }
  };
  std::vector<const std::vector<double>*> a_kept, b_kept;
  std::vector<double> a_pooled, b_pooled;
  gather(a_runs, a_kept, a_pooled);
  gather(b_runs, b_kept, b_pooled);
  if (a_pooled.empty() || b_pooled.empty()) return {};
  const RatioInterval r = point_ratio(median(a_pooled), median(b_pooled));
  if (r.ratio == 0.0 || !enough_to_decide(a_pooled.size()) || !enough_to_decide(b_pooled.size())) {
    return r;
  }
  return percentile_interval(r, confidence, resamples, seed, kUnpairedKey,
                             [&](Rng& rng, std::vector<double>& ra, std::vector<double>& rb) {
                               draw_runs(rng, a_kept, ra);
                               draw_runs(rng, b_kept, rb);
                             });
}

}  // namespace c2r
