#include "results/stats.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "common/error.hpp"
#include "common/json_fields.hpp"

namespace c2r {

double percentile(const std::vector<double>& sorted, double fraction) {
  if (sorted.empty()) return 0.0;
  const double position = fraction * static_cast<double>(sorted.size() - 1);
  const size_t below = static_cast<size_t>(std::floor(position));
  const size_t above = std::min(below + 1, sorted.size() - 1);
  const double weight = position - static_cast<double>(below);
  // On an order statistic itself, that one: the bootstrap's ratios may hold +infinity above it,
  // and infinity * 0 is NaN.
  if (weight == 0.0) return sorted[below];
  return sorted[below] * (1.0 - weight) + sorted[above] * weight;
}

Stats summarize(std::vector<double> samples) {
  Stats s;
  s.n = static_cast<int>(samples.size());
  if (samples.empty()) return s;
  std::sort(samples.begin(), samples.end());
  s.min = samples.front();
  s.max = samples.back();
  s.mean = std::accumulate(samples.begin(), samples.end(), 0.0) / samples.size();
  s.median = percentile(samples, 0.5);
  s.p10 = percentile(samples, 0.10);
  s.p90 = percentile(samples, 0.90);
  s.p99 = percentile(samples, 0.99);
  return s;
}

PhaseStats phase_stats(const std::vector<double>& samples_us) {
  return {summarize(samples_us), samples_us};
}

nlohmann::json to_json(const PhaseStats& phase) {
  const Stats& s = phase.stats;
  return {{"median_us", s.median}, {"mean_us", s.mean}, {"min_us", s.min},
          {"max_us", s.max},       {"p10_us", s.p10},   {"p90_us", s.p90},
          {"p99_us", s.p99},       {"n", s.n},          {"samples_us", phase.samples_us}};
}

PhaseStats phase_stats_from_json(const nlohmann::json& j) {
  PhaseStats phase;
  Stats& s = phase.stats;
  s.median = number_or(j, "median_us", 0.0);
  s.mean = number_or(j, "mean_us", 0.0);
  s.min = number_or(j, "min_us", 0.0);
  s.max = number_or(j, "max_us", 0.0);
  s.p10 = number_or(j, "p10_us", 0.0);
  s.p90 = number_or(j, "p90_us", 0.0);
  s.p99 = number_or(j, "p99_us", 0.0);
  s.n = static_cast<int>(std::clamp<int64_t>(integer_or(j, "n", 0), 0, INT32_MAX));
  phase.samples_us = list_or_empty(j, "samples_us", number_or_zero);
  return phase;
}

nlohmann::json stats_json(const std::vector<double>& samples_us) {
  return to_json(phase_stats(samples_us));
}

Stats stats_from_json(const nlohmann::json& j) {
  Stats s;
  s.median = j.at("median_us").get<double>();
  s.mean = j.at("mean_us").get<double>();
  s.min = j.at("min_us").get<double>();
  s.max = j.at("max_us").get<double>();
  s.p10 = j.at("p10_us").get<double>();
  s.p90 = j.at("p90_us").get<double>();
  s.p99 = j.at("p99_us").get<double>();
  s.n = j.at("n").get<int>();
  return s;
}

std::vector<double> fractional_ranks(const std::vector<double>& values) {
  const size_t n = values.size();
  std::vector<size_t> order(n);
  std::iota(order.begin(), order.end(), size_t{0});
  std::stable_sort(order.begin(), order.end(),
                   [&](size_t a, size_t b) { return values[a] < values[b]; });
  std::vector<double> ranks(n);
  for (size_t i = 0; i < n;) {
    size_t j = i;
    while (j + 1 < n && values[order[j + 1]] == values[order[i]]) ++j;
    const double mean_rank = (i + j) / 2.0 + 1.0;
    for (size_t m = i; m <= j; ++m) ranks[order[m]] = mean_rank;
    i = j + 1;
  }
  return ranks;
}

double spearman(const std::vector<double>& a, const std::vector<double>& b) {
  C2R_CHECK(a.size() == b.size() && !a.empty(), "spearman needs two equal, non-empty series");
  const std::vector<double> ra = fractional_ranks(a), rb = fractional_ranks(b);
  const double n = static_cast<double>(a.size());
  const double mean = (n + 1.0) / 2.0;
  double cov = 0, va = 0, vb = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    cov += (ra[i] - mean) * (rb[i] - mean);
    va += (ra[i] - mean) * (ra[i] - mean);
    vb += (rb[i] - mean) * (rb[i] - mean);
  }
  return va > 0 && vb > 0 ? cov / std::sqrt(va * vb) : 0.0;
}

}  // namespace c2r
