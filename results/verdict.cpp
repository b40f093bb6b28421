#include "results/verdict.hpp"

#include <algorithm>

#include "common/error.hpp"
#include "results/table.hpp"

namespace c2r {

namespace {

BaselineKey baseline_key(const CellResult& r) {
  return {r.layer.value_or(0), r.tokens_per_rank.value_or(0), r.dtype, r.overlap};
}

bool interleaved(const CellResult& r) {
  return !r.round_positions.empty();
}

// Per-iteration samples of a phase, or of dispatch + combine (us).
std::vector<double> samples_of(const CellResult& r, bool exchange) {
  auto samples = [&](Phase p) {
    return r.phase(p) ? r.phase(p)->samples_us : std::vector<double>{};
  };
  if (!exchange) return samples(Phase::kLayer);
  std::vector<double> sum = samples(Phase::kDispatch);
  const std::vector<double> combine = samples(Phase::kCombine);
  sum.resize(std::min(sum.size(), combine.size()));
  for (size_t i = 0; i < sum.size(); ++i) sum[i] += combine[i];
  return sum;
}

// Adds `more` to `sum` iteration by iteration (a run's layers one after another).
void add_iterations(std::vector<double>& sum, const std::vector<double>& more) {
  if (sum.empty()) {
    sum = more;
    return;
  }
  sum.resize(std::min(sum.size(), more.size()));
  for (size_t i = 0; i < sum.size(); ++i) sum[i] += more[i];
}

// baseline / cell with its interval: interleaved, the median over rounds of the round's ratio
// (drift that slows a whole round cancels in its ratio); otherwise the ratio of the medians, the
// iterations of each side drawn independently.
RatioInterval speedup(const std::vector<double>& cell, const std::vector<double>& base, bool paired,
                      uint64_t seed) {
  if (paired && cell.size() == base.size()) {
    return bootstrap_paired_ratio_median(cell, base, kVerdictConfidence, kVerdictResamples, seed);
  }
  return bootstrap_median_ratio(cell, base, kVerdictConfidence, kVerdictResamples, seed);
}

std::string with_interval(const RatioInterval& r) {
  return format_fixed(r.ratio, 2) + " [" + format_fixed(r.low, 2) + ", " + format_fixed(r.high, 2) +
         "]";
}

}  // namespace

Baselines baselines(const std::vector<CellResult>& results) {
  Baselines found;
  for (const auto& r : results) {
    if (r.baseline) found[baseline_key(r)] = &r;
  }
  return found;
}

const CellResult& baseline_of(const CellResult& cell, const Baselines& bases) {
  auto it = bases.find(baseline_key(cell));
  C2R_CHECK(it != bases.end(), "no baseline cell for " << cell_key(cell));
  return *it->second;
}

bool is_eplb_baseline(const CellResult& cell) {
  return cell.routing == "vanilla" && cell.strategy == "dropless" && cell.placement == "eplb";
}

void add_speedups(std::vector<CellResult>& results, bool partial) {
  const auto bases = baselines(results);
  Baselines eplb_bases;
  for (const auto& r : results) {
    if (is_eplb_baseline(r)) eplb_bases[baseline_key(r)] = &r;
  }
  uint64_t seed = 1;
  // base / cell into `ratio` and `interval`; 1 without an interval for the base itself.
  auto compare = [&seed](const CellResult& r, const CellResult& base, std::optional<double>& ratio,
                         std::optional<SpeedupInterval>& interval) {
    if (&base == &r) {
      ratio = 1.0;
      return;
    }
    const bool paired = interleaved(r) && interleaved(base);
    const RatioInterval s = speedup(samples_of(r, false), samples_of(base, false), paired, seed++);
    ratio = s.ratio;
    interval = SpeedupInterval{s.low, s.high, kVerdictConfidence, paired};
  };
  for (auto& r : results) {
    if (partial && !bases.count(baseline_key(r))) continue;
    compare(r, baseline_of(r, bases), r.speedup_vs_baseline, r.speedup_interval);
    auto eplb = eplb_bases.find(baseline_key(r));
    if (eplb != eplb_bases.end()) {
      compare(r, *eplb->second, r.speedup_vs_eplb, r.eplb_speedup_interval);
    }
  }
}

std::string Verdict::word() const {
  if (layer_speedup.low == layer_speedup.high) return "unclear";  // no interval
  if (layer_speedup.low > 1.0) return "faster";
  if (layer_speedup.high < 1.0) return "slower";
  return "unclear";
}

std::vector<Verdict> verdicts(const std::vector<CellResult>& results) {
  const auto bases = baselines(results);
  struct Sums {
    Verdict verdict;
    std::vector<double> cell_layer, base_layer, cell_exchange, base_exchange;
  };
  std::vector<std::string> order;
  std::map<std::string, Sums> by_key;
  for (const CellResult& r : results) {
    if (!r.in_grid || r.baseline) continue;
    const CellResult& base = baseline_of(r, bases);
    const std::string key = cell_key(r, {/*layer=*/false, /*sizes=*/true});
    if (!by_key.count(key)) {
      order.push_back(key);
      Verdict& v = by_key[key].verdict;
      v.routing = r.routing;
      v.top_t = r.top_t;
      v.strategy = r.strategy;
      v.placement = r.placement;
      v.dtype = r.dtype;
      v.overlap = r.overlap;
      v.tokens_per_rank = r.tokens_per_rank;
      v.paired = true;
    }
    Sums& s = by_key[key];
    ++s.verdict.layers;
    s.verdict.paired &= interleaved(r) && interleaved(base);
    add_iterations(s.cell_layer, samples_of(r, false));
    add_iterations(s.base_layer, samples_of(base, false));
    add_iterations(s.cell_exchange, samples_of(r, true));
    add_iterations(s.base_exchange, samples_of(base, true));
  }
  std::vector<Verdict> out;
  uint64_t seed = 1;
  for (const std::string& key : order) {
    Sums& s = by_key[key];
    s.verdict.exchange_speedup =
        speedup(s.cell_exchange, s.base_exchange, s.verdict.paired, seed++);
    s.verdict.layer_speedup = speedup(s.cell_layer, s.base_layer, s.verdict.paired, seed++);
    out.push_back(s.verdict);
  }
  return out;
}

void print_verdicts(std::ostream& out, const std::vector<Verdict>& verdicts) {
  if (verdicts.empty()) return;
  const bool paired =
      std::all_of(verdicts.begin(), verdicts.end(), [](const Verdict& v) { return v.paired; });
  const bool sweep = std::any_of(verdicts.begin(), verdicts.end(),
                                 [](const Verdict& v) { return v.tokens_per_rank.has_value(); });
  const bool pipelined = std::any_of(verdicts.begin(), verdicts.end(),
                                     [](const Verdict& v) { return v.overlap != 1; });
  out << "# verdict: speedup against the baseline (vanilla, dropless, contiguous, same dtype"
      << (pipelined ? " and overlap" : "")
      << ") = "
         "baseline time "
         "/ cell time, summed over the layers, median with its "
      << format_fixed(kVerdictConfidence * 100, 0) << "% bootstrap interval"
      << (paired ? " (resampled by round: cells ran interleaved)"
                 : " (iterations resampled independently: cells ran one after another)")
      << "\n";
  std::vector<Table::Column> columns = cell_name_columns(pipelined);
  if (sweep) columns.push_back({"tokens", "", false});
  columns.insert(columns.end(), {{"layers", "", false},
                                 {"disp+comb speedup", "x"},
                                 {"layer speedup", "x"},
                                 {"verdict", "", true}});
  Table table(columns);
  for (const Verdict& v : verdicts) {
    std::vector<std::string> row =
        cell_name_cells(v.routing, v.top_t, v.strategy, v.placement, v.dtype, v.overlap, pipelined);
    if (sweep) row.push_back(v.tokens_per_rank ? std::to_string(*v.tokens_per_rank) : "-");
    row.insert(row.end(), {std::to_string(v.layers), with_interval(v.exchange_speedup),
                           with_interval(v.layer_speedup), v.word()});
    table.add_row(row);
  }
  table.print(out);
  out << "# faster / slower: the layer speedup's interval lies above / below 1; unclear: it "
         "includes 1 (the run cannot tell them apart)\n";
  if (std::any_of(verdicts.begin(), verdicts.end(), [](const Verdict& v) {
        return v.exchange_speedup.thinned || v.layer_speedup.thinned;
      })) {
    out << "# capped: cells of more than " << kMaxBootstrapSamples
        << " iterations; their intervals resample " << kMaxBootstrapSamples
        << " of them, evenly spaced (the speedups use every iteration; the intervals are "
           "somewhat wider)\n";
  }
}

}  // namespace c2r
