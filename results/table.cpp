#include "results/table.hpp"

#include <algorithm>
#include <iomanip>
#include <sstream>

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

void print_run_table(std::ostream& out, const json& config, const json& results) {
  const json& model = config["model"];
  out << "# c2rbench run: " << model["preset"].get<std::string>() << "  E=" << model["experts"]
      << " k=" << model["top_k"] << " H=" << model["hidden"] << " F=" << model["ffn"];
  if (model["shared_ffn"].get<int>() > 0) out << " shared_F=" << model["shared_ffn"];
  out << "  ranks=" << config["ranks"] << "  tokens/rank=" << config["tokens_per_rank"]
      << "  workload=" << config["workload"]["kind"].get<std::string>()
      << "  iters=" << config["iterations"] << " (+" << config["warmup"] << " warm-up)\n";
  out << "# phase columns: median over iterations of the per-iteration maximum over ranks\n";
  Table table({{"routing", "", true},   {"T", "", false},     {"strategy", "", true},
               {"placement", "", true}, {"layer", "", false}, {"gate", "us"},
               {"permute", "us"},       {"dispatch", "us"},   {"expert", "us"},
               {"combine", "us"},       {"unpermute", "us"},  {"layer", "us"},
               {"speedup", "x"},        {"remote", "MB"},     {"copies", "/tok"},
               {"imbal", "x"},          {"dropped", "%"},     {"eff_exp", "%"},
               {"eff_disp", "%"},       {"eff_comb", "%"},    {"wrong", "#"}});
  for (const auto& r : results) {
    const json& p = r["phases"];
    auto median = [&](const char* phase) { return format_fixed(p[phase]["median_us"], 0); };
    std::string placement = r["placement"].get<std::string>();
    if (placement.size() > 24) placement = "..." + placement.substr(placement.size() - 21);
    const json& check = r["check"];
    table.add_row(
        {r["routing"].get<std::string>() + (r["baseline"].get<bool>() ? "*" : ""),
         r["top_t"].is_null() ? "-" : std::to_string(r["top_t"].get<int>()),
         r["strategy"],
         placement,
         std::to_string(r["layer"].get<int>()),
         median("gate"),
         median("permute"),
         median("dispatch"),
         median("expert"),
         median("combine"),
         median("unpermute"),
         median("layer"),
         r.contains("speedup_vs_baseline") ? format_fixed(r["speedup_vs_baseline"], 2) : "-",
         format_fixed(r["traffic"]["remote_bytes_total"].get<double>() / 1e6, 1),
         format_fixed(r["traffic"]["copies_per_token"], 2),
         format_fixed(r["load"]["rank_imbalance"], 2),
         format_fixed(100.0 * r["load"]["dropped_fraction"].get<double>(), 1),
         format_fixed(100.0 * r["efficiency"]["expert"].get<double>(), 0),
         format_fixed(100.0 * r["efficiency"]["dispatch"].get<double>(), 0),
         format_fixed(100.0 * r["efficiency"]["combine"].get<double>(), 0),
         check["checked"].get<bool>() ? std::to_string(check["wrong_rows"].get<int64_t>())
                                      : "n/a"});
  }
  table.print(out);
  out << "# * = baseline (vanilla, dropless, contiguous); speedup = baseline layer time / cell "
         "layer"
         " time, same layer\n";
}

void print_layer_summary(std::ostream& out, const json& summary) {
  out << "# mean over layers, relative to each layer's baseline cell\n";
  Table table({{"routing", "", true},
               {"T", "", false},
               {"strategy", "", true},
               {"placement", "", true},
               {"layers", "", false},
               {"remote_bytes", "x base"},
               {"disp+comb", "x base"},
               {"layer", "x base"},
               {"imbal", "x"}});
  for (const auto& s : summary) {
    std::string placement = s["placement"].get<std::string>();
    if (placement.size() > 24) placement = "..." + placement.substr(placement.size() - 21);
    table.add_row({s["routing"], s["top_t"].is_null() ? "-" : std::to_string(s["top_t"].get<int>()),
                   s["strategy"], placement, std::to_string(s["layers"].get<int>()),
                   format_fixed(s["remote_bytes_ratio"], 3),
                   format_fixed(s["dispatch_combine_time_ratio"], 3),
                   format_fixed(s["layer_time_ratio"], 3), format_fixed(s["rank_imbalance"], 2)});
  }
  table.print(out);
}

}  // namespace c2r
