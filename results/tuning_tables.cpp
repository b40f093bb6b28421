#include "results/tuning_tables.hpp"

#include "results/table.hpp"

namespace c2r {

using nlohmann::json;

namespace {

std::string fixed(const json& value, int decimals) {
  return value.is_number() ? format_fixed(value.get<double>(), decimals) : "-";
}

// The model, the request and the cluster model the tuning used.
void print_tuning_header(std::ostream& out, const json& t) {
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
}

// Per layer: the search and the predicted times of the baseline, contiguous and tuned placements.
void print_layer_table(std::ostream& out, const json& t, const std::string& chosen) {
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
}

// Every routing candidate, model totals, and which one was chosen.
void print_top_t_table(std::ostream& out, const json& t) {
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
    out << "# warning: no Top-T meets the rank-imbalance limit; kept the most balanced\n";
  }
}

// Every capacity factor weighed for the capacity-limited exchange, and which one was chosen.
void print_capacity_table(std::ostream& out, const json& t, const std::string& chosen) {
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
    out << "# warning: no capacity factor meets the drop limit; kept the largest\n";
  }
}

void print_tuning_summary(std::ostream& out, const json& t) {
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
}

}  // namespace

void print_tuning(std::ostream& out, const json& t) {
  const std::string chosen =
      t["routing"].get<std::string>() + (t["top_t"].is_null() ? "" : " T=" + t["top_t"].dump());
  print_tuning_header(out, t);
  print_layer_table(out, t, chosen);
  print_top_t_table(out, t);
  print_capacity_table(out, t, chosen);
  print_tuning_summary(out, t);
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
