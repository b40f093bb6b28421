#include "results/tuning_tables.hpp"

#include "results/table.hpp"

namespace c2r {

namespace {

// A number the file lacks (kNoNumber) prints as "-".
std::string fixed(double value, int decimals) {
  return std::isnan(value) ? "-" : format_fixed(value, decimals);
}
std::string fixed(const std::optional<double>& value, int decimals) {
  return value ? fixed(*value, decimals) : "-";
}

std::string routing_label(const std::string& routing, const std::optional<int>& top_t) {
  return routing + (top_t ? " T=" + std::to_string(*top_t) : "");
}

// The model, the request and the cluster model the tuning used.
void print_tuning_header(std::ostream& out, const Tuning& t) {
  const TuningCluster& c = t.cluster;
  out << "# c2rbench tune: " << t.model_preset << " (" << t.experts << " experts, top-" << t.top_k
      << "), " << t.tokens_per_rank << " tokens per rank, strategy " << t.strategy << "\n"
      << "# cluster: " << c.name << " (" << c.origin << "), " << c.ranks << " ranks on " << c.nodes
      << " node(s)\n"
      << "#   intra-node all2all " << fixed(c.intra_node.latency_us, 2) << " us + bytes / "
      << fixed(c.intra_node.bandwidth_GBps, 2) << " GB/s";
  if (c.nodes > 1) {
    out << "; inter-node " << fixed(c.inter_node.latency_us, 2) << " us + bytes / "
        << fixed(c.inter_node.bandwidth_GBps, 2) << " GB/s per rank";
  }
  out << "\n#   expert GEMM " << fixed(c.expert_gflops, 1) << " GFLOP/s";
  if (c.expert_alone_gflops) out << " (" << fixed(*c.expert_alone_gflops, 1) << " alone)";
  if (c.expert_call_us) out << " + " << fixed(*c.expert_call_us, 1) << " us per expert";
  out << ", router " << fixed(c.router_gflops, 1) << " GFLOP/s, copy " << fixed(c.copy_GBps, 2)
      << (c.scatter_GBps ? " (weighted sums " + fixed(*c.scatter_GBps, 2) + ")" : std::string())
      << " GB/s per rank\n";
}

// Per layer: the search and the predicted times of the baseline, contiguous and tuned placements.
void print_layer_table(std::ostream& out, const Tuning& t, const std::string& chosen) {
  out << "# per layer (" << chosen << ", " << t.strategy
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
  for (const auto& l : t.layers) {
    const double baseline = l.baseline.at(Phase::kLayer), tuned = l.tuned.at(Phase::kLayer);
    layers.add_row(
        {std::to_string(l.layer), l.method, format_fixed(l.candidates, 0), fixed(l.search_ms, 1),
         fixed(baseline, 1), fixed(l.contiguous.at(Phase::kLayer), 1), fixed(tuned, 1),
         format_fixed(l.contiguous.exchange_us(), 1), format_fixed(l.tuned.exchange_us(), 1),
         fixed(l.tuned.rank_imbalance, 3), format_fixed(baseline / tuned, 3)});
  }
  layers.print(out);
}

// Every routing candidate, model totals, and which one was chosen.
void print_top_t_table(std::ostream& out, const Tuning& t) {
  out << "# Top-T (sums over layers of the tuned placements; imbalance: worst layer; limit "
      << fixed(t.max_imbalance, 2) << ")\n";
  Table top_t({{"routing", "", true},
               {"T", ""},
               {"layer", "us"},
               {"d+c", "us"},
               {"remote", "MB"},
               {"imbalance", ""},
               {"ok", "", true},
               {"chosen", "", true}});
  for (const auto& row : t.top_t_table) {
    top_t.add_row({row.routing, row.top_t ? std::to_string(*row.top_t) : "-",
                   fixed(row.layer_us, 1), fixed(row.dispatch_combine_us, 1),
                   format_fixed(row.remote_bytes / 1e6, 2), fixed(row.max_rank_imbalance, 3),
                   row.within_limit ? "yes" : "no", row.chosen ? "*" : ""});
  }
  top_t.print(out);
  if (!t.top_t_within_limit) {
    out << "# warning: no Top-T meets the rank-imbalance limit; kept the most balanced\n";
  }
}

// Every capacity factor weighed for the capacity-limited exchange, and which one was chosen.
void print_capacity_table(std::ostream& out, const Tuning& t, const std::string& chosen) {
  out << "# capacity factor (padded, " << chosen
      << ", tuned placements; limit: dropped <= " << fixed(t.max_drop, 4)
      << " of pairs in every layer)\n";
  Table capacity({{"cf", ""},
                  {"max dropped", "%"},
                  {"mean dropped", "%"},
                  {"layer", "us"},
                  {"d+c", "us"},
                  {"chosen", "", true}});
  for (const auto& row : t.capacity_table) {
    capacity.add_row({fixed(row.capacity_factor, 2),
                      format_fixed(row.max_dropped_fraction * 100, 2),
                      format_fixed(row.mean_dropped_fraction * 100, 2), fixed(row.layer_us, 1),
                      fixed(row.dispatch_combine_us, 1), row.chosen ? "*" : ""});
  }
  capacity.print(out);
  if (!t.capacity_within_limit) {
    out << "# warning: no capacity factor meets the drop limit; kept the largest\n";
  }
}

// Every pipeline degree weighed (run --overlap), and which one was chosen.
void print_overlap_table(std::ostream& out, const Tuning& t, const std::string& chosen) {
  if (t.overlap_table.size() < 2) return;
  out << "# overlap (token chunks pipelined per layer, " << chosen << ", " << t.strategy
      << ", tuned placements; d+c: the exchange time the layer exposes)\n";
  Table overlap({{"overlap", ""}, {"layer", "us"}, {"d+c", "us"}, {"chosen", "", true}});
  for (const auto& row : t.overlap_table) {
    overlap.add_row({std::to_string(row.overlap), fixed(row.layer_us, 1),
                     fixed(row.dispatch_combine_us, 1), row.chosen ? "*" : ""});
  }
  overlap.print(out);
}

// Every count of redundant experts weighed (tune --replicas), and which one was chosen.
void print_replica_table(std::ostream& out, const Tuning& t, const std::string& chosen) {
  if (t.replica_table.size() < 2) return;
  out << "# replicas (redundant experts, " << chosen << ", " << t.strategy
      << "; each layer on the better of EPLB and the tuned placement plus replicas; weights: the "
         "replicas' fp32 expert weights each rank holds; chosen when 1% faster than fewer)\n";
  Table replicas({{"replicas", ""},
                  {"layer", "us"},
                  {"d+c", "us"},
                  {"remote", "MB"},
                  {"max imbal", "x"},
                  {"weights", "MiB/rank"},
                  {"eplb layers", ""},
                  {"chosen", "", true}});
  for (const auto& row : t.replica_table) {
    replicas.add_row({std::to_string(row.replicas), fixed(row.layer_us, 1),
                      fixed(row.dispatch_combine_us, 1), fixed(row.remote_bytes / 1e6, 2),
                      fixed(row.max_rank_imbalance, 2),
                      fixed(row.weight_bytes_per_rank / (1024.0 * 1024.0), 1),
                      std::to_string(row.eplb_layers), row.chosen ? "*" : ""});
  }
  replicas.print(out);
}

void print_tuning_summary(std::ostream& out, const Tuning& t) {
  const TuningSummary& s = t.summary;
  out << "# predicted, " << s.layers << " layer(s): baseline " << fixed(s.baseline_layer_us, 1)
      << " us, contiguous " << fixed(s.contiguous_layer_us, 1) << " us, tuned "
      << fixed(s.tuned_layer_us, 1) << " us (" << fixed(s.predicted_speedup_vs_baseline, 3)
      << "x baseline, " << fixed(s.predicted_speedup_vs_contiguous, 3)
      << "x contiguous); dispatch+combine " << fixed(s.baseline_dispatch_combine_us, 1) << " / "
      << fixed(s.contiguous_dispatch_combine_us, 1) << " / "
      << fixed(s.tuned_dispatch_combine_us, 1) << " us\n";
  if (t.search_seconds) {
    out << "# search " << fixed(t.search_seconds, 3) << " s"
        << (t.total_seconds ? ", tune " + fixed(t.total_seconds, 2) + " s in all" : "") << "\n";
  }
}

}  // namespace

void print_tuning(std::ostream& out, const Tuning& t) {
  const std::string chosen = routing_label(t.routing, t.top_t);
  print_tuning_header(out, t);
  print_layer_table(out, t, chosen);
  print_top_t_table(out, t);
  print_capacity_table(out, t, chosen);
  print_overlap_table(out, t, chosen);
  print_replica_table(out, t, chosen);
  print_tuning_summary(out, t);
  if (t.validation) print_validation(out, *t.validation);
}

void print_validation(std::ostream& out, const Validation& v) {
  out << "# validation: predicted vs measured (median of " << v.iterations
      << " iterations, max over ranks";
  if (v.rounds > 0) out << "; interleaved: " << v.rounds << " rounds, each ran every cell once";
  out << ")\n";
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
  for (const auto& p : v.points) {
    const double pred = p.predicted.at(Phase::kLayer), meas = p.measured.at(Phase::kLayer);
    points.add_row(
        {std::to_string(p.layer), routing_label(p.routing, p.top_t), p.strategy,
         p.placement + (p.overlap == 1 ? "" : " ovl " + std::to_string(p.overlap)),
         format_fixed(pred, 1), format_fixed(meas, 1),
         format_fixed(meas > 0 ? (pred - meas) / meas * 100 : 0.0, 1),
         format_fixed(p.predicted.exchange_us(), 1), format_fixed(p.measured.exchange_us(), 1),
         fixed(p.predicted.at(Phase::kExpert), 1), fixed(p.measured.at(Phase::kExpert), 1)});
  }
  points.print(out);
  const auto layer_points = v.error_points.find("layer");
  out << "# Spearman (layer time, "
      << (layer_points != v.error_points.end() ? layer_points->second
                                               : static_cast<int>(v.points.size()))
      << " points): " << fixed(v.spearman_layer, 3)
      << "   mean absolute error (over the points measured above 0):";
  for (const auto& [phase, error] : v.mean_abs_error) {
    out << " " << phase << " " << format_fixed(error * 100, 1) << "%";
    const auto count = v.error_points.find(phase);
    if (count != v.error_points.end()) out << " (" << count->second << ")";
  }
  out << "\n"
      << "# targets: Spearman >= " << fixed(v.spearman_min, 2)
      << ", layer error <= " << format_fixed(v.layer_mae_max * 100, 0)
      << "%: " << (v.met ? "met" : "NOT met") << "\n";
  for (const auto& g : v.measured_gain) {
    out << "# measured, layer " << g.layer << ": dispatch+combine tuned "
        << fixed(g.tuned_dispatch_combine_us, 1) << " us vs contiguous "
        << fixed(g.contiguous_dispatch_combine_us, 1) << " us vs baseline "
        << fixed(g.baseline_dispatch_combine_us, 1) << " us; layer tuned "
        << fixed(g.tuned_layer_us, 1) << " us vs baseline " << fixed(g.baseline_layer_us, 1)
        << " us\n";
  }
}

}  // namespace c2r
