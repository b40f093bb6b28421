#include "suites/run_config.hpp"

#include <algorithm>
#include <limits>
#include <numeric>
#include <set>
#include <tuple>

#include "common/error.hpp"
#include "model/placement.hpp"

namespace c2r {

std::string to_string(RoutingMode mode) {
  return mode == RoutingMode::kVanilla ? "vanilla" : "c2r";
}

RoutingMode parse_routing(const std::string& name) {
  if (name == "vanilla") return RoutingMode::kVanilla;
  if (name == "c2r") return RoutingMode::kC2R;
  throw Error("unknown routing '" + name + "' (known: vanilla, c2r)");
}

bool is_builtin_placement(const std::string& name) {
  return name == "contiguous" || name == "round-robin" || name == "collab";
}

namespace {

// The comma-separated items of `text`, each with its value as a whole non-negative integer, or -1
// when it is not one.
std::vector<std::pair<std::string, int64_t>> integer_items(const std::string& text) {
  std::vector<std::pair<std::string, int64_t>> items;
  size_t start = 0;
  for (;;) {
    const size_t comma = text.find(',', start);
    const std::string item =
        text.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    int64_t value = -1;
    try {
      size_t used = 0;
      value = std::stoll(item, &used);
      if (used != item.size() || value < 0) value = -1;
    } catch (const std::exception&) {
      value = -1;
    }
    items.emplace_back(item, value);
    if (comma == std::string::npos) return items;
    start = comma + 1;
  }
}

}  // namespace

std::vector<int64_t> parse_token_sweep(const std::string& text) {
  const std::string prefix = "tokens=";
  C2R_CHECK(text.compare(0, prefix.size(), prefix) == 0,
            "--sweep '" << text << "': only tokens=V1,V2,... is supported (sweep ranks with "
                        << "scripts/sweep_ranks.sh)");
  std::vector<int64_t> values;
  for (const auto& [item, value] : integer_items(text.substr(prefix.size()))) {
    C2R_CHECK(value >= 1, "--sweep: '" << item << "' is not a positive token count");
    C2R_CHECK(std::find(values.begin(), values.end(), value) == values.end(),
              "--sweep lists tokens=" << value << " twice");
    values.push_back(value);
  }
  return values;
}

std::vector<int64_t> parse_rank_tokens(const std::string& text, int ranks) {
  std::vector<int64_t> counts;
  for (const auto& [item, value] : integer_items(text)) {
    C2R_CHECK(value >= 0, "--rank-tokens: '" << item << "' is not a token count (0 or more)");
    counts.push_back(value);
  }
  C2R_CHECK(static_cast<int>(counts.size()) == ranks,
            "--rank-tokens lists " << counts.size() << " counts; the job has " << ranks
                                   << " ranks (one count per rank)");
  C2R_CHECK(std::accumulate(counts.begin(), counts.end(), int64_t{0}) >= 1,
            "--rank-tokens: every count is 0; the layer needs at least one token");
  return counts;
}

std::vector<int> parse_layers(const std::string& text, const ModelConfig& model,
                              WorkloadKind workload) {
  if (text == "all") {
    C2R_CHECK(workload == WorkloadKind::kTrace,
              "--layer all needs --workload trace (other workloads have one synthetic layer)");
    std::vector<int> all(model.layers);
    for (int l = 0; l < model.layers; ++l) all[l] = l;
    return all;
  }
  std::vector<int> layers;
  for (const auto& [item, value] : integer_items(text)) {
    C2R_CHECK(
        value >= 0 && value <= std::numeric_limits<int>::max(),
        "--layer must be a layer number, a comma list of them, or 'all' (got '" << text << "')");
    const int layer = static_cast<int>(value);
    C2R_CHECK(std::find(layers.begin(), layers.end(), layer) == layers.end(),
              "--layer lists layer " << layer << " twice");
    layers.push_back(layer);
  }
  return layers;
}

WorkloadSetup resolve_workload(const WorkloadOptions& o) {
  WorkloadSetup s;
  s.model = make_model(o.preset, o.overrides);
  s.workload.kind = parse_workload(o.kind);
  s.workload.seed = o.seed;
  s.workload.groups = o.groups;
  s.workload.cluster_strength = o.cluster_strength;
  s.workload.hot_experts = o.hot_experts;
  C2R_CHECK(o.tokens >= 1, "--tokens must be at least 1 per rank (got " << o.tokens << ")");
  C2R_CHECK(o.hot_experts >= 1 && o.hot_experts <= s.model.experts,
            "--hot-experts must be between 1 and the number of experts " << s.model.experts);
  C2R_CHECK(o.groups >= 0 && o.groups <= s.model.experts,
            "--groups must be between 0 (auto) and the number of experts " << s.model.experts);
  C2R_CHECK(o.cluster_strength >= 0.0, "--cluster-strength must be >= 0");
  if (s.workload.kind == WorkloadKind::kTrace) {
    C2R_CHECK(!s.model.trace_family.empty(), "preset " << s.model.preset << " has no trace data");
  }
  s.data_dir = o.data_dir.empty() ? C2R_DEFAULT_DATA_DIR : o.data_dir;
  return s;
}

ProcessOptions resolve_process(const ProcessOptions& o) {
  C2R_CHECK(o.backend == "cpu" || o.backend == "cuda",
            "unknown backend '" << o.backend << "' (known: cpu, cuda)");
  C2R_CHECK(o.blas_threads >= 1, "--blas-threads must be at least 1");
  return o;
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

  std::set<std::tuple<int, int, int, std::string, std::string>> seen;
  for (int layer : c.layers) {
    bool has_baseline = false;
    for (RoutingMode routing : grid.routings) {
      const std::vector<int> ts = routing == RoutingMode::kC2R ? grid.top_ts : std::vector<int>{0};
      for (int t : ts) {
        for (const auto& placement : grid.placements) {
          for (const StrategyDescriptor* strategy : grid.strategies) {
            auto key =
                std::make_tuple(layer, static_cast<int>(routing), t, placement, strategy->name);
            if (!seen.insert(key).second) continue;
            Cell cell{layer, routing, t, strategy, placement, false, true};
            cell.baseline = routing == RoutingMode::kVanilla && strategy == &baseline_strategy() &&
                            placement == "contiguous";
            has_baseline |= cell.baseline;
            c.cells.push_back(cell);
          }
        }
      }
    }
    if (!has_baseline) {
      c.cells.push_back(
          Cell{layer, RoutingMode::kVanilla, 0, &baseline_strategy(), "contiguous", true, false});
    }
  }
  // Run cells that share routing and placement together (they share the gate and the placement).
  std::stable_sort(c.cells.begin(), c.cells.end(), [](const Cell& a, const Cell& b) {
    return std::make_tuple(a.layer, static_cast<int>(a.routing), a.top_t, a.placement) <
           std::make_tuple(b.layer, static_cast<int>(b.routing), b.top_t, b.placement);
  });
  return c;
}

RunConfig resolve_run_config(const RunOptions& o, int ranks) {
  resolve_process(o.process);
  const WorkloadSetup setup = resolve_workload(o.workload);
  std::vector<int64_t> rank_tokens;
  if (o.rank_tokens.empty()) {
    rank_tokens.assign(ranks, o.workload.tokens);
  } else {
    rank_tokens = parse_rank_tokens(o.rank_tokens, ranks);
    C2R_CHECK(o.sweep.empty(), "--rank-tokens and --sweep cannot be combined");
  }
  check_experts_divide(setup.model.experts, ranks);

  GridSpec grid;
  grid.layers = parse_layers(o.layer, setup.model, setup.workload.kind);
  C2R_CHECK(o.capacity_factor > 0.0, "--capacity-factor must be positive");
  C2R_CHECK(o.warmup >= 1, "--warmup must be at least 1 (the first run sizes the buffers)");
  C2R_CHECK(o.iters >= 1, "--iters must be at least 1");
  C2R_CHECK(o.tolerance > 0.0, "--tolerance must be positive");
  C2R_CHECK(!o.routing.empty() && !o.strategy.empty() && !o.placement.empty(),
            "--routing, --strategy and --placement each need at least one value");
  for (const auto& r : o.routing) grid.routings.push_back(parse_routing(r));
  for (const auto& s : o.strategy) grid.strategies.push_back(&find_strategy(s));
  for (const auto& p : o.placement) {
    C2R_CHECK(!p.empty(), "--placement has an empty entry");
  }
  grid.placements = o.placement;
  const ModelConfig& model = setup.model;
  grid.top_ts = o.top_t.empty() ? std::vector<int>{model.default_top_t} : o.top_t;
  const bool any_c2r =
      std::count(grid.routings.begin(), grid.routings.end(), RoutingMode::kC2R) > 0;
  if (any_c2r) {
    for (int t : grid.top_ts) {
      C2R_CHECK(t >= model.top_k - 1 && t <= model.experts - 1,
                "--top-t " << t << " is out of range: C2R with top-k " << model.top_k << " and "
                           << model.experts << " experts needs " << model.top_k - 1
                           << " <= T <= " << model.experts - 1);
    }
  }

  RunConfig c = make_run_config(setup, grid, std::move(rank_tokens));
  c.capacity_factor = o.capacity_factor;
  c.loops.warmup = o.warmup;
  c.loops.iterations = o.iters;
  c.check = o.check;
  c.tolerance = o.tolerance;
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
  std::vector<std::string> routing_names, strategy_list, placement_list;
  std::vector<int> top_ts;
  for (const auto& cell : cells) {
    auto add = [](std::vector<std::string>& v, const std::string& s) {
      if (std::find(v.begin(), v.end(), s) == v.end()) v.push_back(s);
    };
    if (!cell.in_grid) continue;
    add(routing_names, to_string(cell.routing));
    add(strategy_list, to_string(cell.strategy));
    add(placement_list, cell.placement);
    if (cell.routing == RoutingMode::kC2R &&
        std::find(top_ts.begin(), top_ts.end(), cell.top_t) == top_ts.end()) {
      top_ts.push_back(cell.top_t);
    }
  }
  nlohmann::json out = {{"model", model.to_json()},
                        {"backend", process.backend},
                        {"tokens_per_rank", tokens_per_rank},
                        {"ranks", ranks},
                        {"workload", workload.to_json()},
                        {"layers", layers},
                        {"routing", routing_names},
                        {"top_t", top_ts},
                        {"strategy", strategy_list},
                        {"placement", placement_list},
                        {"capacity_factor", capacity_factor},
                        {"warmup", loops.warmup},
                        {"iterations", loops.iterations},
                        {"check", check},
                        {"tolerance", tolerance},
                        {"blas_threads", process.blas_threads}};
  if (uneven()) out["rank_tokens"] = rank_tokens;
  return out;
}

}  // namespace c2r
