#include "results/table.hpp"

#include <algorithm>
#include <iomanip>
#include <sstream>

#include "results/phase.hpp"

namespace c2r {

using nlohmann::json;

void Table::add_row(std::vector<std::string> cells) {
  cells.resize(columns_.size());
  rows_.push_back(std::move(cells));
}

void Table::print(std::ostream& out) const {
  std::vector<size_t> width(columns_.size());
  for (size_t c = 0; c < columns_.size(); ++c) {
    width[c] = std::max(columns_[c].name.size(), columns_[c].unit.size() + 2);
    for (const auto& row : rows_) width[c] = std::max(width[c], row[c].size());
  }
  auto line = [&](auto cell_of, bool header) {
    out << (header ? "#" : " ");
    for (size_t c = 0; c < columns_.size(); ++c) {
      const std::string text = cell_of(c);
      out << ' ' << (columns_[c].left ? std::left : std::right) << std::setw(width[c]) << text;
    }
    out << std::right << '\n';
  };
  line([&](size_t c) { return columns_[c].name; }, true);
  line([&](size_t c) { return columns_[c].unit.empty() ? "" : "(" + columns_[c].unit + ")"; },
       true);
  for (const auto& row : rows_) line([&](size_t c) { return row[c]; }, false);
}

std::string format_fixed(double value, int decimals) {
  std::ostringstream s;
  s << std::fixed << std::setprecision(decimals) << value;
  return s.str();
}

namespace {

// The field at `path` inside `j`, or null when any step is missing: reports from other tools (the
// PyTorch peer) lack traffic, load and efficiency, and the table shows "-" for them. Types are as
// parse_report checked them.
const json& field(const json& j, std::initializer_list<const char*> path) {
  static const json missing;
  const json* at = &j;
  for (const char* key : path) {
    if (!at->is_object() || !at->contains(key)) return missing;
    at = &(*at)[key];
  }
  return *at;
}

// scale * value / divide, as the table has always computed it, or "-" when absent.
std::string fixed_or_dash(std::optional<double> value, int decimals, double scale = 1.0,
                          double divide = 1.0) {
  return value ? format_fixed(scale * *value / divide, decimals) : "-";
}

std::string shortened_placement(std::string placement) {
  if (placement.size() > 24) placement = "..." + placement.substr(placement.size() - 21);
  return placement;
}

std::string text_or(const json& value, const std::string& absent) {
  if (value.is_null()) return absent;
  return value.is_string() ? value.get<std::string>() : value.dump();
}

}  // namespace

std::vector<Table::Column> cell_name_columns(bool pipelined) {
  std::vector<Table::Column> columns = {{"routing", "", true},
                                        {"T", "", false},
                                        {"strategy", "", true},
                                        {"placement", "", true},
                                        {"dtype", "", true}};
  if (pipelined) columns.push_back({"ovl", "", false});
  return columns;
}

std::vector<std::string> cell_name_cells(const std::string& routing, std::optional<int> top_t,
                                         const std::string& strategy, const std::string& placement,
                                         const std::string& dtype, int overlap, bool pipelined) {
  std::vector<std::string> cells = {routing, top_t ? std::to_string(*top_t) : "-", strategy,
                                    shortened_placement(placement), dtype};
  if (pipelined) cells.push_back(std::to_string(overlap));
  return cells;
}

void print_run_table(std::ostream& out, const json& config,
                     const std::vector<CellResult>& results) {
  const json& model = field(config, {"model"});
  out << "# c2rbench run: " << text_or(field(model, {"preset"}), "?")
      << "  E=" << text_or(field(model, {"experts"}), "?")
      << " k=" << text_or(field(model, {"top_k"}), "?")
      << " H=" << text_or(field(model, {"hidden"}), "?")
      << " F=" << text_or(field(model, {"ffn"}), "?");
  if (field(model, {"shared_ffn"}).is_number() && model["shared_ffn"].get<int>() > 0) {
    out << " shared_F=" << model["shared_ffn"];
  }
  out << "  ranks=" << text_or(field(config, {"ranks"}), "?")
      << "  tokens/rank=" << text_or(field(config, {"tokens_per_rank"}), "?")
      << "  workload=" << text_or(field(config, {"workload", "kind"}), "?")
      << "  iters=" << text_or(field(config, {"iterations"}), "?") << " (+"
      << text_or(field(config, {"warmup"}), "?") << " warm-up)";
  // A minimum time adds iterations: the rounds run (interleaved), else each cell's count differs.
  const json& min_time = field(config, {"min_time_s"});
  if (min_time.is_number() && min_time.get<double>() > 0.0) {
    out << " min-time=" << text_or(min_time, "?")
        << "s rounds=" << text_or(field(config, {"rounds"}), "per cell");
  }
  out << "\n";
  out << "# phase columns: median over iterations of the per-iteration maximum over ranks\n";
  // Pipelined cells (--overlap): their degree, and what they exposed of the exchange.
  const bool pipelined = std::any_of(results.begin(), results.end(),
                                     [](const CellResult& r) { return r.overlap != 1; });
  std::vector<Table::Column> columns = cell_name_columns(pipelined);
  columns.push_back({"layer", "", false});
  for (Phase phase : kReportedPhases) columns.push_back({phase_name(phase), "us"});
  if (pipelined) columns.insert(columns.end(), {{"exposed", "us"}, {"hidden", "%"}});
  // Runs with the eplb placement: every cell against the replicated baseline too.
  const bool eplb = std::any_of(results.begin(), results.end(),
                                [](const CellResult& r) { return r.speedup_vs_eplb.has_value(); });
  columns.insert(columns.end(), {{"speedup", "x"}, {"interval", "x"}});
  if (eplb) columns.push_back({"vs_eplb", "x"});
  columns.insert(columns.end(), {{"remote", "MB"},
                                 {"copies", "/tok"},
                                 {"imbal", "x"},
                                 {"dropped", "%"},
                                 {"eff_exp", "%"},
                                 {"eff_disp", "%"},
                                 {"eff_comb", "%"},
                                 {"wrong", "#"}});
  Table table(columns);
  for (const CellResult& r : results) {
    std::vector<std::string> row =
        cell_name_cells(r.routing + (r.baseline ? "*" : ""), r.top_t, r.strategy, r.placement,
                        r.dtype, r.overlap, pipelined);
    row.push_back(r.layer ? std::to_string(*r.layer) : "?");
    for (Phase phase : kReportedPhases) {
      row.push_back(r.phase(phase) ? format_fixed(r.phase(phase)->stats.median, 0) : "-");
    }
    if (pipelined) {
      const std::optional<OverlapMetrics>& o = r.overlap_metrics;
      row.push_back(o ? format_fixed(o->exposed_communication.stats.median, 0) : "-");
      row.push_back(fixed_or_dash(o ? o->efficiency : std::nullopt, 0, 100.0));
    }
    // Absent sections (a peer's report) show "-".
    std::optional<double> remote, copies, imbalance, dropped, eff_expert, eff_dispatch, eff_combine;
    if (r.traffic) {
      remote = static_cast<double>(r.traffic->remote_bytes_total);
      copies = r.traffic->copies_per_token;
    }
    if (r.load) {
      imbalance = r.load->rank_imbalance;
      dropped = r.load->dropped_fraction;
    }
    if (r.efficiency) {
      eff_expert = r.efficiency->expert;
      // A pipelined cell's dispatch and combine time only what it exposed: no efficiency.
      if (r.overlap == 1) {
        eff_dispatch = r.efficiency->dispatch;
        eff_combine = r.efficiency->combine;
      }
    }
    const bool checked = r.check && r.check->checked;
    // "~": the interval includes 1, the cell is not told apart from the baseline.
    std::string speedup = fixed_or_dash(r.speedup_vs_baseline, 2), interval = "-";
    if (const auto& i = r.speedup_interval) {
      if (i->low < i->high) {
        interval = "[" + format_fixed(i->low, 2) + "," + format_fixed(i->high, 2) + "]";
        if (i->low <= 1.0 && i->high >= 1.0) speedup += "~";
      }
    }
    row.insert(row.end(), {speedup, interval});
    if (eplb) {
      std::string vs_eplb = fixed_or_dash(r.speedup_vs_eplb, 2);
      const auto& i = r.eplb_speedup_interval;
      if (i && i->low < i->high && i->low <= 1.0 && i->high >= 1.0) vs_eplb += "~";
      row.push_back(vs_eplb);
    }
    row.insert(
        row.end(),
        {fixed_or_dash(remote, 1, 1.0, 1e6), fixed_or_dash(copies, 2), fixed_or_dash(imbalance, 2),
         fixed_or_dash(dropped, 1, 100.0), fixed_or_dash(eff_expert, 0, 100.0),
         fixed_or_dash(eff_dispatch, 0, 100.0), fixed_or_dash(eff_combine, 0, 100.0),
         checked ? std::to_string(r.check->wrong_rows) : "n/a"});
    table.add_row(row);
  }
  table.print(out);
  out << "# * = baseline (vanilla, dropless, contiguous); speedup = baseline layer time / cell "
         "layer time, same layer (interleaved: the median over rounds of each round's ratio); "
         "interval: its 95% bootstrap interval; ~ = the interval includes 1\n";
  if (eplb) {
    out << "# vs_eplb = layer time of the replicated baseline (vanilla, dropless, eplb: DeepSeek's "
           "EPLB with --replicas redundant experts) / cell layer time, the same way\n";
  }
  if (pipelined) {
    out << "# ovl = token chunks pipelined per layer; their dispatch and combine columns time what "
           "the layer exposed of the exchange (waits and progress calls). exposed = layer - "
           "compute (max over ranks); hidden = 1 - exposed / (dispatch + combine ceilings)\n";
  }
}

void print_layer_summary(std::ostream& out, const std::vector<LayerSummary>& summary) {
  out << "# mean over layers, relative to each layer's baseline cell\n";
  const bool pipelined = std::any_of(summary.begin(), summary.end(),
                                     [](const LayerSummary& s) { return s.overlap != 1; });
  std::vector<Table::Column> columns = cell_name_columns(pipelined);
  columns.insert(columns.end(), {{"layers", "", false},
                                 {"remote_bytes", "x base"},
                                 {"disp+comb", "x base"},
                                 {"layer", "x base"},
                                 {"imbal", "x"}});
  Table table(columns);
  for (const LayerSummary& s : summary) {
    std::vector<std::string> row =
        cell_name_cells(s.routing, s.top_t, s.strategy, s.placement, s.dtype, s.overlap, pipelined);
    row.insert(row.end(), {std::to_string(s.layers), format_fixed(s.remote_bytes_ratio, 3),
                           format_fixed(s.dispatch_combine_time_ratio, 3),
                           format_fixed(s.layer_time_ratio, 3), format_fixed(s.rank_imbalance, 2)});
    table.add_row(row);
  }
  table.print(out);
}

}  // namespace c2r
