#include "tuner/tuning.hpp"

#include <algorithm>

#include "common/error.hpp"
#include "model/placement.hpp"
#include "results/table.hpp"

namespace c2r {

using nlohmann::json;

namespace {

std::string routing_name(RoutingMode routing) {
  return routing == RoutingMode::kVanilla ? "vanilla" : "c2r";
}

double exchange_seconds(const Prediction& p) {
  return p.time.dispatch + p.time.combine;
}

}  // namespace

TopTChoice choose_top_t(const std::vector<TunedLayer>& layers, double max_imbalance) {
  C2R_CHECK(!layers.empty(), "nothing was tuned");
  TopTChoice choice;
  const size_t count = layers.front().routings.size();
  double best_time = INFINITY, best_imbalance = INFINITY;
  size_t best = 0, most_balanced = 0;
  for (size_t i = 0; i < count; ++i) {
    double time = 0, exchange = 0, remote = 0, worst_imbalance = 0;
    for (const auto& layer : layers) {
      const Prediction& p = layer.routings[i].search.prediction;
      time += p.time.layer();
      exchange += exchange_seconds(p);
      remote += p.remote_bytes;
      worst_imbalance = std::max(worst_imbalance, p.rank_imbalance);
    }
    const TunedRouting& r = layers.front().routings[i];
    choice.table.push_back({{"routing", routing_name(r.routing)},
                            {"top_t", r.routing == RoutingMode::kC2R ? json(r.top_t) : json()},
                            {"layer_us", time * 1e6},
                            {"dispatch_combine_us", exchange * 1e6},
                            {"remote_bytes", remote},
                            {"max_rank_imbalance", worst_imbalance},
                            {"within_limit", worst_imbalance <= max_imbalance}});
    // Vanilla is the comparison row; it is chosen only when it is the only candidate.
    const bool candidate = r.routing == RoutingMode::kC2R || count == 1;
    if (!candidate) continue;
    if (worst_imbalance <= max_imbalance && time < best_time) {
      best_time = time;
      best = i;
    }
    if (worst_imbalance < best_imbalance) {
      best_imbalance = worst_imbalance;
      most_balanced = i;
    }
  }
  choice.within_limit = best_time < INFINITY;
  choice.index = choice.within_limit ? best : most_balanced;
  choice.routing = layers.front().routings[choice.index].routing;
  choice.top_t = layers.front().routings[choice.index].top_t;
  for (size_t i = 0; i < count; ++i) choice.table[i]["chosen"] = i == choice.index;
  return choice;
}

CapacityChoice choose_capacity(const std::vector<TunedLayer>& layers, size_t routing_index,
                               const ClusterModel& cluster, const ModelConfig& model,
                               int64_t tokens_per_rank, int64_t sample_tokens,
                               const std::vector<double>& factors, double max_drop) {
  std::vector<double> sorted = factors;
  std::sort(sorted.begin(), sorted.end());
  sorted.erase(std::unique(sorted.begin(), sorted.end()), sorted.end());
  CapacityChoice choice;
  choice.within_limit = false;
  for (double factor : sorted) {
    const CostModel padded(cluster, model, tokens_per_rank, capacity_strategy(), factor,
                           sample_tokens);
    double worst_drop = 0, mean_drop = 0, time = 0, exchange = 0;
    for (const auto& layer : layers) {
      const TunedRouting& r = layer.routings[routing_index];
      const Prediction p = padded.predict(r.sample, r.search.expert_rank);
      worst_drop = std::max(worst_drop, p.dropped_fraction);
      mean_drop += p.dropped_fraction / layers.size();
      time += p.time.layer();
      exchange += exchange_seconds(p);
    }
    const bool ok = worst_drop <= max_drop;
    if (ok && !choice.within_limit) {
      choice.within_limit = true;
      choice.factor = factor;
    }
    choice.table.push_back({{"capacity_factor", factor},
                            {"max_dropped_fraction", worst_drop},
                            {"mean_dropped_fraction", mean_drop},
                            {"layer_us", time * 1e6},
                            {"dispatch_combine_us", exchange * 1e6},
                            {"within_limit", ok}});
  }
  if (!choice.within_limit) choice.factor = sorted.back();
  for (auto& row : choice.table) row["chosen"] = row["capacity_factor"] == choice.factor;
  return choice;
}

json tuning_json(const TuneRequestEcho& request, const ModelConfig& model,
                 const WorkloadSpec& workload, const ClusterModel& cluster, const json& profile,
                 const std::vector<TunedLayer>& layers, const TopTChoice& choice,
                 const CapacityChoice& capacity) {
  json j_layers = json::array();
  double base = 0, contiguous = 0, tuned = 0, base_x = 0, contiguous_x = 0, tuned_x = 0;
  for (const auto& layer : layers) {
    const TunedRouting& r = layer.routings[choice.index];
    json routings = json::array();
    for (const auto& other : layer.routings) {
      routings.push_back(
          {{"routing", routing_name(other.routing)},
           {"top_t", other.routing == RoutingMode::kC2R ? json(other.top_t) : json()},
           {"expert_rank", other.search.expert_rank},
           {"method", other.search.method},
           {"tuned", other.search.prediction.to_json()},
           {"contiguous", other.contiguous.to_json()}});
    }
    json entry = {{"layer", layer.layer},
                  {"expert_rank", r.search.expert_rank},
                  {"method", r.search.method},
                  {"candidates", r.search.candidates},
                  {"search_ms", r.search_s * 1e3},
                  {"predicted",
                   {{"baseline", layer.baseline.to_json()},
                    {"contiguous", r.contiguous.to_json()},
                    {"tuned", r.search.prediction.to_json()}}},
                  {"routings", routings}};
    if (r.search.method != "exhaustive") entry["seed_objective_us"] = r.search.seed_objective * 1e6;
    j_layers.push_back(entry);
    base += layer.baseline.time.layer();
    contiguous += r.contiguous.time.layer();
    tuned += r.search.prediction.time.layer();
    base_x += exchange_seconds(layer.baseline);
    contiguous_x += exchange_seconds(r.contiguous);
    tuned_x += exchange_seconds(r.search.prediction);
  }
  return {{"schema", "c2rbench.tuning"},
          {"schema_version", 1},
          {"model", model.to_json()},
          {"experts", model.experts},
          {"ranks", cluster.ranks},
          {"tokens_per_rank", request.tokens_per_rank},
          {"workload", workload.to_json()},
          {"strategy", request.strategy},
          {"routing", routing_name(choice.routing)},
          {"top_t", choice.routing == RoutingMode::kC2R ? json(choice.top_t) : json()},
          {"top_t_within_limit", choice.within_limit},
          {"capacity_factor", capacity.factor},
          {"capacity_within_limit", capacity.within_limit},
          {"limits", {{"max_imbalance", request.max_imbalance}, {"max_drop", request.max_drop}}},
          {"cluster", cluster.to_json()},
          {"profile", profile},
          {"layers", j_layers},
          {"top_t_table", choice.table},
          {"capacity_table", capacity.table},
          {"summary",
           {{"layers", layers.size()},
            {"baseline_layer_us", base * 1e6},
            {"contiguous_layer_us", contiguous * 1e6},
            {"tuned_layer_us", tuned * 1e6},
            {"baseline_dispatch_combine_us", base_x * 1e6},
            {"contiguous_dispatch_combine_us", contiguous_x * 1e6},
            {"tuned_dispatch_combine_us", tuned_x * 1e6},
            {"predicted_speedup_vs_baseline", tuned > 0 ? base / tuned : 0.0},
            {"predicted_speedup_vs_contiguous", tuned > 0 ? contiguous / tuned : 0.0}}}};
}

namespace {

std::string fixed(const json& value, int decimals) {
  return value.is_number() ? format_fixed(value.get<double>(), decimals) : "-";
}

}  // namespace

void print_tuning(std::ostream& out, const json& t) {
  const json& c = t["cluster"];
  out << "# c2rbench tune: " << t["model"]["preset"].get<std::string>() << " ("
      << t["experts"].get<int>() << " experts, top-" << t["model"]["top_k"].get<int>() << "), "
      << t["tokens_per_rank"].get<int64_t>() << " tokens per rank, strategy "
      << t["strategy"].get<std::string>() << "\n"
      << "# cluster: " << c["name"].get<std::string>() << " (" << c["origin"].get<std::string>()
      << "), " << c["ranks"].get<int>() << " ranks on " << c["nodes"].get<int>() << " node(s)\n"
      << "#   intra-node all2all " << fixed(c["intra_node"]["latency_us"], 2) << " us + bytes / "
      << fixed(c["intra_node"]["bandwidth_GBps"], 2) << " GB/s";
  if (c["nodes"].get<int>() > 1) {
    out << "; inter-node " << fixed(c["inter_node"]["latency_us"], 2) << " us + bytes / "
        << fixed(c["inter_node"]["bandwidth_GBps"], 2) << " GB/s per rank";
  }
  out << "\n#   expert GEMM " << fixed(c["rates"]["expert_gflops"], 1) << " GFLOP/s, router "
      << fixed(c["rates"]["router_gflops"], 1) << " GFLOP/s, copy "
      << fixed(c["rates"]["copy_GBps"], 2) << " GB/s per rank\n";

  const std::string chosen =
      t["routing"].get<std::string>() + (t["top_t"].is_null() ? "" : " T=" + t["top_t"].dump());
  out << "# per layer (" << chosen << ", " << t["strategy"].get<std::string>()
      << "; baseline = vanilla, dropless, contiguous; predicted)\n";
  Table layers({{"layer", ""},
                {"method", "", true},
                {"evaluated", ""},
                {"search", "ms"},
                {"baseline", "us"},
                {"contiguous", "us"},
                {"tuned", "us"},
                {"d+c contig", "us"},
                {"d+c tuned", "us"},
                {"imbalance", ""},
                {"vs baseline", "x"}});
  for (const auto& l : t["layers"]) {
    const json& p = l["predicted"];
    auto exchange = [](const json& x) {
      return x["dispatch_us"].get<double>() + x["combine_us"].get<double>();
    };
    layers.add_row(
        {l["layer"].dump(), l["method"].get<std::string>(),
         format_fixed(l["candidates"].get<double>(), 0), fixed(l["search_ms"], 1),
         fixed(p["baseline"]["layer_us"], 1), fixed(p["contiguous"]["layer_us"], 1),
         fixed(p["tuned"]["layer_us"], 1), format_fixed(exchange(p["contiguous"]), 1),
         format_fixed(exchange(p["tuned"]), 1), fixed(p["tuned"]["rank_imbalance"], 3),
         format_fixed(
             p["baseline"]["layer_us"].get<double>() / p["tuned"]["layer_us"].get<double>(), 3)});
  }
  layers.print(out);

  out << "# Top-T (sums over layers of the tuned placements; imbalance: worst layer; limit "
      << fixed(t["limits"]["max_imbalance"], 2) << ")\n";
  Table top_t({{"routing", "", true},
               {"T", ""},
               {"layer", "us"},
               {"d+c", "us"},
               {"remote", "MB"},
               {"imbalance", ""},
               {"ok", "", true},
               {"chosen", "", true}});
  for (const auto& row : t["top_t_table"]) {
    top_t.add_row(
        {row["routing"].get<std::string>(), row["top_t"].is_null() ? "-" : row["top_t"].dump(),
         fixed(row["layer_us"], 1), fixed(row["dispatch_combine_us"], 1),
         format_fixed(row["remote_bytes"].get<double>() / 1e6, 2),
         fixed(row["max_rank_imbalance"], 3), row["within_limit"].get<bool>() ? "yes" : "no",
         row["chosen"].get<bool>() ? "*" : ""});
  }
  top_t.print(out);
  if (!t["top_t_within_limit"].get<bool>()) {
    out << "# warning: no Top-T meets --max-imbalance; kept the most balanced\n";
  }

  out << "# capacity factor (padded, " << chosen
      << ", tuned placements; limit: dropped <= " << fixed(t["limits"]["max_drop"], 4)
      << " of pairs in every layer)\n";
  Table capacity({{"cf", ""},
                  {"max dropped", "%"},
                  {"mean dropped", "%"},
                  {"layer", "us"},
                  {"d+c", "us"},
                  {"chosen", "", true}});
  for (const auto& row : t["capacity_table"]) {
    capacity.add_row({fixed(row["capacity_factor"], 2),
                      format_fixed(row["max_dropped_fraction"].get<double>() * 100, 2),
                      format_fixed(row["mean_dropped_fraction"].get<double>() * 100, 2),
                      fixed(row["layer_us"], 1), fixed(row["dispatch_combine_us"], 1),
                      row["chosen"].get<bool>() ? "*" : ""});
  }
  capacity.print(out);
  if (!t["capacity_within_limit"].get<bool>()) {
    out << "# warning: no capacity factor meets --max-drop; kept the largest\n";
  }

  const json& s = t["summary"];
  out << "# predicted, " << s["layers"].get<int>() << " layer(s): baseline "
      << fixed(s["baseline_layer_us"], 1) << " us, contiguous "
      << fixed(s["contiguous_layer_us"], 1) << " us, tuned " << fixed(s["tuned_layer_us"], 1)
      << " us (" << fixed(s["predicted_speedup_vs_baseline"], 3) << "x baseline, "
      << fixed(s["predicted_speedup_vs_contiguous"], 3) << "x contiguous); dispatch+combine "
      << fixed(s["baseline_dispatch_combine_us"], 1) << " / "
      << fixed(s["contiguous_dispatch_combine_us"], 1) << " / "
      << fixed(s["tuned_dispatch_combine_us"], 1) << " us\n";
  if (t.contains("search_seconds")) {
    out << "# search " << fixed(t["search_seconds"], 3) << " s"
        << (t.contains("total_seconds") ? ", tune " + fixed(t["total_seconds"], 2) + " s in all"
                                        : "")
        << "\n";
  }
  if (t.contains("validation")) print_validation(out, t["validation"]);
}

void print_validation(std::ostream& out, const json& v) {
  out << "# validation: predicted vs measured (median of " << v["iterations"].get<int>()
      << " iterations, max over ranks)\n";
  Table points({{"layer", ""},
                {"routing", "", true},
                {"strategy", "", true},
                {"placement", "", true},
                {"pred layer", "us"},
                {"meas layer", "us"},
                {"error", "%"},
                {"pred d+c", "us"},
                {"meas d+c", "us"},
                {"pred expert", "us"},
                {"meas expert", "us"}});
  for (const auto& p : v["points"]) {
    const json& pr = p["predicted"];
    const json& me = p["measured"];
    auto exchange = [](const json& x) {
      return x["dispatch_us"].get<double>() + x["combine_us"].get<double>();
    };
    const double pred = pr["layer_us"], meas = me["layer_us"];
    points.add_row(
        {p["layer"].dump(),
         p["routing"].get<std::string>() + (p["top_t"].is_null() ? "" : " T=" + p["top_t"].dump()),
         p["strategy"].get<std::string>(), p["placement"].get<std::string>(), format_fixed(pred, 1),
         format_fixed(meas, 1), format_fixed(meas > 0 ? (pred - meas) / meas * 100 : 0.0, 1),
         format_fixed(exchange(pr), 1), format_fixed(exchange(me), 1), fixed(pr["expert_us"], 1),
         fixed(me["expert_us"], 1)});
  }
  points.print(out);
  out << "# Spearman (layer time, " << v["points"].size()
      << " points): " << fixed(v["spearman_layer"], 3) << "   mean absolute error:";
  for (const auto& [phase, error] : v["mean_abs_error"].items()) {
    out << " " << phase << " " << format_fixed(error.get<double>() * 100, 1) << "%";
  }
  out << "\n";
  for (const auto& g : v["measured_gain"]) {
    out << "# measured, layer " << g["layer"].dump() << ": dispatch+combine tuned "
        << fixed(g["tuned_dispatch_combine_us"], 1) << " us vs contiguous "
        << fixed(g["contiguous_dispatch_combine_us"], 1) << " us vs baseline "
        << fixed(g["baseline_dispatch_combine_us"], 1) << " us; layer tuned "
        << fixed(g["tuned_layer_us"], 1) << " us vs baseline " << fixed(g["baseline_layer_us"], 1)
        << " us\n";
  }
}

}  // namespace c2r
