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
std::string fixed_or_dash(const json& value, int decimals, double scale = 1.0,
                          double divide = 1.0) {
  return value.is_number() ? format_fixed(scale * value.get<double>() / divide, decimals) : "-";
}

std::string text_or(const json& value, const std::string& absent) {
  if (value.is_null()) return absent;
  return value.is_string() ? value.get<std::string>() : value.dump();
}

}  // namespace

void print_run_table(std::ostream& out, const json& config, const json& results) {
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
      << text_or(field(config, {"warmup"}), "?") << " warm-up)\n";
  out << "# phase columns: median over iterations of the per-iteration maximum over ranks\n";
  Table table({{"routing", "", true},   {"T", "", false},     {"strategy", "", true},
               {"placement", "", true}, {"layer", "", false}, {"gate", "us"},
               {"permute", "us"},       {"dispatch", "us"},   {"expert", "us"},
               {"combine", "us"},       {"unpermute", "us"},  {"layer", "us"},
               {"speedup", "x"},        {"remote", "MB"},     {"copies", "/tok"},
               {"imbal", "x"},          {"dropped", "%"},     {"eff_exp", "%"},
               {"eff_disp", "%"},       {"eff_comb", "%"},    {"wrong", "#"}});
  for (const auto& r : results) {
    auto median = [&](const char* phase) {
      return fixed_or_dash(field(r, {"phases", phase, "median_us"}), 0);
    };
    std::string placement = text_or(field(r, {"placement"}), "?");
    if (placement.size() > 24) placement = "..." + placement.substr(placement.size() - 21);
    const json& checked = field(r, {"check", "checked"});
    const json& wrong = field(r, {"check", "wrong_rows"});
    table.add_row(
        {text_or(field(r, {"routing"}), "?") + (field(r, {"baseline"}) == true ? "*" : ""),
         text_or(field(r, {"top_t"}), "-"),
         text_or(field(r, {"strategy"}), "?"),
         placement,
         text_or(field(r, {"layer"}), "?"),
         median("gate"),
         median("permute"),
         median("dispatch"),
         median("expert"),
         median("combine"),
         median("unpermute"),
         median("layer"),
         fixed_or_dash(field(r, {"speedup_vs_baseline"}), 2),
         fixed_or_dash(field(r, {"traffic", "remote_bytes_total"}), 1, 1.0, 1e6),
         fixed_or_dash(field(r, {"traffic", "copies_per_token"}), 2),
         fixed_or_dash(field(r, {"load", "rank_imbalance"}), 2),
         fixed_or_dash(field(r, {"load", "dropped_fraction"}), 1, 100.0),
         fixed_or_dash(field(r, {"efficiency", "expert"}), 0, 100.0),
         fixed_or_dash(field(r, {"efficiency", "dispatch"}), 0, 100.0),
         fixed_or_dash(field(r, {"efficiency", "combine"}), 0, 100.0),
         checked == true && wrong.is_number() ? wrong.dump() : "n/a"});
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
