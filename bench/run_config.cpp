#include "bench/run_config.hpp"

#include <algorithm>
#include <numeric>
#include <set>
#include <tuple>

#include "common/error.hpp"
#include "model/placement.hpp"

namespace c2r {

namespace {

// Every (payload type, pipeline degree) of the grid, types outermost.
std::vector<std::pair<PayloadType, int>> grid_pairs(const std::vector<PayloadType>& dtypes,
                                                    const std::vector<int>& overlaps) {
  std::vector<std::pair<PayloadType, int>> pairs;
  for (PayloadType dtype : dtypes) {
    for (int overlap : overlaps) pairs.emplace_back(dtype, overlap);
  }
  return pairs;
}

}  // namespace

std::string to_string(OverlapProgress progress) {
  return progress == OverlapProgress::kTest ? "test" : "wait";
}

OverlapProgress parse_overlap_progress(const std::string& name) {
  if (name == "test") return OverlapProgress::kTest;
  if (name == "wait") return OverlapProgress::kWait;
  throw Error("unknown --overlap-progress '" + name + "' (known: test, wait)");
}

RunConfig make_run_config(const WorkloadSetup& setup, const GridSpec& grid,
                          std::vector<int64_t> rank_tokens) {
  RunConfig c;
  c.model = setup.model;
  c.workload = setup.workload;
  c.ranks = static_cast<int>(rank_tokens.size());
  check_experts_divide(c.model.experts, c.ranks);
  c.tokens_per_rank = *std::max_element(rank_tokens.begin(), rank_tokens.end());
  c.rank_tokens = std::move(rank_tokens);
  c.layers = grid.layers;

  std::set<std::tuple<int, int, int, std::string, std::string, int, int>> seen;
  for (int layer : c.layers) {
    // Each payload type and pipeline degree has its own baseline: the dropless exchange sending
    // the same type, pipelined alike.
    for (const auto& [dtype, overlap] : grid_pairs(grid.dtypes, grid.overlaps)) {
      bool has_baseline = false;
      for (RoutingMode routing : grid.routings) {
        const std::vector<int> ts =
            routing == RoutingMode::kC2R ? grid.top_ts : std::vector<int>{0};
        for (int t : ts) {
          for (const auto& placement : grid.placements) {
            for (const StrategyDescriptor* strategy : grid.strategies) {
              auto key = std::make_tuple(layer, static_cast<int>(routing), t, placement,
                                         strategy->name, static_cast<int>(dtype), overlap);
              if (!seen.insert(key).second) continue;
              Cell cell{layer, routing, t, strategy, placement, false, true, dtype, overlap};
              cell.baseline = routing == RoutingMode::kVanilla &&
                              strategy == &baseline_strategy() && placement == "contiguous";
              has_baseline |= cell.baseline;
              c.cells.push_back(cell);
            }
          }
        }
      }
      if (!has_baseline) {
        c.cells.push_back(Cell{layer, RoutingMode::kVanilla, 0, &baseline_strategy(), "contiguous",
                               true, false, dtype, overlap});
      }
      // A grid with the eplb placement also holds the replicated baseline (vanilla, dropless,
      // eplb), which the table compares every cell with too.
      const bool eplb = std::count(grid.placements.begin(), grid.placements.end(), "eplb") > 0;
      const auto key =
          std::make_tuple(layer, static_cast<int>(RoutingMode::kVanilla), 0, std::string("eplb"),
                          baseline_strategy().name, static_cast<int>(dtype), overlap);
      if (eplb && seen.insert(key).second) {
        c.cells.push_back(Cell{layer, RoutingMode::kVanilla, 0, &baseline_strategy(), "eplb", false,
                               false, dtype, overlap});
      }
    }
  }
  // Run cells that share routing and placement together (they share the gate and the placement).
  std::stable_sort(c.cells.begin(), c.cells.end(), [](const Cell& a, const Cell& b) {
    return std::make_tuple(a.layer, static_cast<int>(a.routing), a.top_t, a.placement) <
           std::make_tuple(b.layer, static_cast<int>(b.routing), b.top_t, b.placement);
  });
  return c;
}

bool RunConfig::uneven() const {
  return std::any_of(rank_tokens.begin(), rank_tokens.end(),
                     [&](int64_t t) { return t != tokens_per_rank; });
}

int64_t RunConfig::first_token(int rank) const {
  return std::accumulate(rank_tokens.begin(), rank_tokens.begin() + rank, int64_t{0});
}

int64_t RunConfig::total_tokens() const {
  return first_token(static_cast<int>(rank_tokens.size()));
}

nlohmann::json RunConfig::to_json(const ProcessOptions& process) const {
  std::vector<std::string> routing_names, strategy_list, placement_list, dtype_list;
  std::vector<int> top_ts, overlaps;
  for (const auto& cell : cells) {
    auto add = [](std::vector<std::string>& v, const std::string& s) {
      if (std::find(v.begin(), v.end(), s) == v.end()) v.push_back(s);
    };
    if (!cell.in_grid) continue;
    add(routing_names, to_string(cell.routing));
    add(strategy_list, to_string(cell.strategy));
    add(placement_list, cell.placement);
    add(dtype_list, to_string(cell.dtype));
    if (std::find(overlaps.begin(), overlaps.end(), cell.overlap) == overlaps.end()) {
      overlaps.push_back(cell.overlap);
    }
    if (cell.routing == RoutingMode::kC2R &&
        std::find(top_ts.begin(), top_ts.end(), cell.top_t) == top_ts.end()) {
      top_ts.push_back(cell.top_t);
    }
  }
  nlohmann::json out = {{"model", model.to_json()},
                        {"backend", process.backend},
                        {"exchange", process.exchange},
                        {"tokens_per_rank", tokens_per_rank},
                        {"ranks", ranks},
                        {"workload", workload.to_json()},
                        {"layers", layers},
                        {"routing", routing_names},
                        {"top_t", top_ts},
                        {"strategy", strategy_list},
                        {"placement", placement_list},
                        {"dtype", dtype_list},
                        {"overlap", overlaps},
                        {"overlap_progress", to_string(overlap_progress)},
                        {"capacity_factor", capacity_factor},
                        {"replicas", replicas},
                        {"warmup", loops.warmup},
                        {"iterations", loops.iterations},
                        {"order", to_string(order)},
                        {"check", check},
                        {"tolerance", tolerance},
                        {"blas_threads", process.blas_threads}};
  if (uneven()) out["rank_tokens"] = rank_tokens;
  if (!process.options.empty()) out["options"] = process.options;
  // With a minimum time, `iterations` is the least each cell ran (its samples say how many).
  out["min_time_s"] = loops.min_seconds;
  if (loops.min_seconds > 0.0) out["max_iterations"] = loops.max_iterations;
  // Interleaved: each of the `iterations` rounds ran every cell once, in an order shuffled from
  // the workload's seed (each result's round_positions).
  if (order == CellOrder::kInterleaved) out["rounds"] = loops.iterations;
  return out;
}

}  // namespace c2r
