#pragma once
// Summary statistics of per-iteration times (microseconds).

#include <vector>

#include <nlohmann/json.hpp>

namespace c2r {

struct Stats {
  double median = 0, mean = 0, min = 0, max = 0, p10 = 0, p90 = 0, p99 = 0;
  int n = 0;
};

// Percentiles interpolate linearly between order statistics (numpy's default).
Stats summarize(std::vector<double> samples);
double percentile(const std::vector<double>& sorted, double fraction);

// One phase (or ceiling) of a result: its per-iteration samples and their statistics.
struct PhaseStats {
  Stats stats;
  std::vector<double> samples_us;  // [iterations] each the maximum over ranks
};
PhaseStats phase_stats(const std::vector<double>& samples_us);

// {"median_us", "mean_us", "min_us", "max_us", "p10_us", "p90_us", "p99_us", "n", "samples_us"}
nlohmann::json to_json(const PhaseStats& phase);
// The reverse of to_json for a report's phase object; a field absent or of another type reads as
// 0 (a peer's report may carry fewer fields).
PhaseStats phase_stats_from_json(const nlohmann::json& j);
nlohmann::json stats_json(const std::vector<double>& samples_us);
Stats stats_from_json(const nlohmann::json& j);

// Ranks 1..n, ties given the mean of the ranks they span.
std::vector<double> fractional_ranks(const std::vector<double>& values);
// Spearman's rank correlation: the Pearson correlation of the fractional ranks. 0 when either side
// is constant; needs equal, non-zero lengths.
double spearman(const std::vector<double>& a, const std::vector<double>& b);

}  // namespace c2r
