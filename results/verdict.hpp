#pragma once
// What a run says about each cell against its baseline (vanilla, dropless, contiguous of the same
// layer and tokens per rank): the speedup with its bootstrap interval, and one verdict per
// (routing, Top-T, strategy, placement) over the run's layers. Intervals are paired by round when
// both cells ran interleaved (each has round_positions), so drift shared by a round cancels.

#include <map>
#include <optional>
#include <ostream>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "results/bootstrap.hpp"
#include "results/cell_result.hpp"

namespace c2r {

constexpr double kVerdictConfidence = 0.95;
constexpr int kVerdictResamples = 2000;

// A cell's baseline is the (vanilla, dropless, contiguous) cell of its layer, tokens per rank,
// payload type and pipeline degree: an exchange is compared with the baseline sending the same
// row type, pipelined alike.
using BaselineKey =
    std::tuple<int, int64_t, std::string, int>;  // (layer, tokens per rank, dtype, overlap)
using Baselines = std::map<BaselineKey, const CellResult*>;
Baselines baselines(const std::vector<CellResult>& results);
// The baseline `cell` is compared with; throws c2r::Error when the results lack it.
const CellResult& baseline_of(const CellResult& cell, const Baselines& bases);
// Whether `cell` is a replicated baseline: vanilla routing, dropless, the eplb placement.
bool is_eplb_baseline(const CellResult& cell);

// Sets every result's speedup_vs_baseline and its interval: baseline layer time / the cell's, as
// the median over rounds of each round's ratio when both ran interleaved, else as the ratio of
// their medians. Where the results hold the replicated baseline, the (vanilla, dropless, eplb)
// cell of the same layer, tokens per rank, payload type and degree, also speedup_vs_eplb alike.
// `partial`: results of a run that has not finished, where a cell's baseline may not have run
// yet; such cells get no speedup (otherwise a missing baseline throws c2r::Error).
void add_speedups(std::vector<CellResult>& results, bool partial = false);

// One (routing, Top-T, strategy, placement[, tokens per rank]) of the grid against the baseline,
// its per-iteration times summed over the run's layers: speedups (baseline / cell) of dispatch +
// combine and of the whole layer, and whether the layer is clearly faster or slower (its interval
// excludes 1).
struct Verdict {
  std::string routing;
  std::optional<int> top_t;
  std::string strategy, placement;
  std::string dtype = "fp32";
  int overlap = 1;
  std::optional<int64_t> tokens_per_rank;  // a sweep's pass
  int layers = 0;
  bool paired = false;
  RatioInterval exchange_speedup, layer_speedup;
  std::string word() const;  // "faster", "slower" or "unclear"
};
std::vector<Verdict> verdicts(const std::vector<CellResult>& results);

void print_verdicts(std::ostream& out, const std::vector<Verdict>& verdicts);

}  // namespace c2r
