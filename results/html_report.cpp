#include "results/html_report.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <map>
#include <numeric>
#include <sstream>
#include <tuple>

#include "common/error.hpp"
#include "common/json_fields.hpp"
#include "common/json_text.hpp"
#include "results/table.hpp"

namespace c2r {

using nlohmann::json;

namespace {

// One colour per lap phase (Phase before kLayer), also the colours of the size plots' series.
const char* const kPhaseColours[kNumPhases] = {"#4e79a7", "#f28e2b", "#e15759", "#76b7b2",
                                               "#59a14f", "#edc948", "#bab0ac"};

std::string escape(const std::string& text) {
  std::string out;
  for (char c : text) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

std::string cell_label(const CellResult& cell) {
  return cell_key(cell, {/*layer=*/true, /*sizes=*/false}) + (cell.baseline ? " (baseline)" : "");
}

// White to dark blue by value / top.
std::string heat(double value, double top) {
  const double t = top > 0 ? std::clamp(value / top, 0.0, 1.0) : 0.0;
  const int r = static_cast<int>(247 - t * 239), g = static_cast<int>(251 - t * 203),
            b = static_cast<int>(255 - t * 148);
  std::ostringstream out;
  out << "rgb(" << r << "," << g << "," << b << ")";
  return out.str();
}

// Stacked per-phase bars of every cell, scaled to the slowest layer.
void phase_bars(std::ostream& out, const std::vector<Report>& reports,
                const std::vector<std::string>& sources) {
  double top = 0.0;
  int cells = 0;
  for (const auto& r : reports) {
    for (const auto& cell : r.results) {
      double sum = 0.0;
      for (int p = 0; p < kNumPhases; ++p) sum += cell.median_us(static_cast<Phase>(p));
      top = std::max(top, sum);
      ++cells;
    }
  }
  const int row = 22, label = 430, width = 520;
  out << "<h2>Phases per cell</h2><p>Median per phase (per-iteration maximum over ranks), stacked;"
         " bar length to scale, the slowest cell "
      << format_fixed(top, 1) << " us.</p>\n<svg class=\"phases\" width=\"" << label + width + 20
      << "\" height=\"" << row * (cells + 2) << "\">\n";
  int y = 0;
  for (size_t i = 0; i < reports.size(); ++i) {
    for (const auto& cell : reports[i].results) {
      out << "<text x=\"0\" y=\"" << y + 15 << "\">"
          << escape((reports.size() > 1 ? sources[i] + ": " : "") + cell_label(cell))
          << "</text>\n";
      double x = label;
      for (int p = 0; p < kNumPhases; ++p) {
        const char* name = phase_name(static_cast<Phase>(p));
        const double median = cell.median_us(static_cast<Phase>(p));
        const double w = top > 0 ? median / top * width : 0.0;
        out << "<rect class=\"phase-" << name << "\" x=\"" << format_fixed(x, 2) << "\" y=\""
            << y + 3 << "\" width=\"" << format_fixed(w, 2) << "\" height=\"16\" fill=\""
            << kPhaseColours[p] << "\"><title>" << name << " " << format_fixed(median, 1)
            << " us</title></rect>\n";
        x += w;
      }
      y += row;
    }
  }
  double x = label;
  for (int p = 0; p < kNumPhases; ++p) {
    out << "<rect class=\"legend\" x=\"" << x << "\" y=\"" << y + 8 << "\" width=\"12\" "
        << "height=\"12\" fill=\"" << kPhaseColours[p] << "\"/><text x=\"" << x + 16 << "\" y=\""
        << y + 19 << "\">" << phase_name(static_cast<Phase>(p)) << "</text>\n";
    x += 95;
  }
  out << "</svg>\n";
}

// A square matrix as a heatmap; `groups` (optional): the group of each row, outlined in order.
void matrix_svg(std::ostream& out, const std::string& css, const std::vector<double>& values, int n,
                const std::vector<int>& order, const std::vector<int>& groups) {
  const int size = std::max(6, std::min(24, 240 / std::max(n, 1)));
  const double top = values.empty() ? 0.0 : *std::max_element(values.begin(), values.end());
  out << "<svg class=\"" << css << "\" width=\"" << n * size + 2 << "\" height=\"" << n * size + 2
      << "\">\n";
  for (int i = 0; i < n; ++i) {
    for (int j = 0; j < n; ++j) {
      const double v = values[static_cast<size_t>(order[i]) * n + order[j]];
      out << "<rect class=\"heat-cell\" x=\"" << j * size + 1 << "\" y=\"" << i * size + 1
          << "\" width=\"" << size << "\" height=\"" << size << "\" fill=\"" << heat(v, top)
          << "\"><title>" << order[i] << " / " << order[j] << ": " << format_fixed(v, 0)
          << "</title></rect>\n";
    }
  }
  // Outline each run of rows with the same group (experts of one rank).
  for (int start = 0; start < n && !groups.empty();) {
    int end = start;
    while (end < n && groups[order[end]] == groups[order[start]]) ++end;
    out << "<rect class=\"group-outline\" x=\"" << start * size + 1 << "\" y=\"" << start * size + 1
        << "\" width=\"" << (end - start) * size << "\" height=\"" << (end - start) * size
        << "\" fill=\"none\" stroke=\"#d62728\" stroke-width=\"2\"/>\n";
    start = end;
  }
  out << "</svg>\n";
}

// Bars of `values` with a class, labelled by index.
void bars_svg(std::ostream& out, const std::string& css, const std::vector<double>& values) {
  const double top = values.empty() ? 0.0 : *std::max_element(values.begin(), values.end());
  const int bar = std::max(4, std::min(24, 480 / std::max<int>(1, values.size())));
  out << "<svg class=\"chart-" << css << "\" width=\"" << bar * values.size() + 2
      << "\" height=\"110\">\n";
  for (size_t i = 0; i < values.size(); ++i) {
    const double h = top > 0 ? values[i] / top * 100 : 0.0;
    out << "<rect class=\"" << css << "\" x=\"" << i * bar + 1 << "\" y=\""
        << format_fixed(105 - h, 2) << "\" width=\"" << bar - 1 << "\" height=\""
        << format_fixed(h, 2) << "\" fill=\"#4e79a7\"><title>" << i << ": "
        << format_fixed(values[i], 0) << "</title></rect>\n";
  }
  out << "</svg>\n";
}

void cell_details(std::ostream& out, const CellResult& cell) {
  out << "<div class=\"cell\"><h3>" << escape(cell_label(cell)) << "</h3>\n";
  if (cell.traffic && !cell.traffic->dispatch_bytes.empty()) {
    const auto& m = cell.traffic->dispatch_bytes;  // [R x R]
    const int n = static_cast<int>(m.size());
    std::vector<double> values;
    for (const auto& row : m) values.insert(values.end(), row.begin(), row.end());
    std::vector<int> order(n);
    std::iota(order.begin(), order.end(), 0);
    out << "<figure><figcaption>dispatch bytes, rank x rank (row = from)</figcaption>\n";
    matrix_svg(out, "traffic", values, n, order, {});
    out << "</figure>\n";
  }
  if (cell.load && !cell.expert_rank.empty()) {
    const std::vector<double>& counts = cell.load->coactivation;
    const std::vector<int>& owner = cell.expert_rank;
    const int n = static_cast<int>(owner.size());
    if (counts.size() == static_cast<size_t>(n) * n) {
      std::vector<int> order(n);
      std::iota(order.begin(), order.end(), 0);
      std::stable_sort(order.begin(), order.end(),
                       [&](int a, int b) { return owner[a] < owner[b]; });
      out << "<figure><figcaption>co-activation, experts grouped by rank (outlined)"
             "</figcaption>\n";
      matrix_svg(out, "coactivation", counts, n, order, owner);
      out << "</figure>\n";
    }
  }
  if (cell.load) {
    const std::vector<double> per_expert(cell.load->tokens_per_expert.begin(),
                                         cell.load->tokens_per_expert.end());
    for (const auto& [key, values] : {std::pair{"tokens_per_expert", &per_expert},
                                      std::pair{"tokens_per_rank", &cell.load->tokens_per_rank}}) {
      if (values->empty()) continue;
      out << "<figure><figcaption>" << key << "</figcaption>\n";
      bars_svg(out, std::string(key) == "tokens_per_expert" ? "bar-expert" : "bar-rank", *values);
      out << "</figure>\n";
    }
  }
  if (cell.efficiency) {
    // A pipelined cell's dispatch and combine time only what it exposed: the expert bar alone.
    const bool serial = cell.overlap == 1;
    std::vector<double> efficiency = {cell.efficiency->expert * 100.0};
    if (serial) {
      efficiency.push_back(cell.efficiency->dispatch * 100.0);
      efficiency.push_back(cell.efficiency->combine * 100.0);
    }
    out << "<figure><figcaption>efficiency vs same-run ceilings (%): "
        << (serial ? "expert, dispatch, combine" : "expert") << "</figcaption>\n";
    bars_svg(out, "bar-efficiency", efficiency);
    out << "</figure>\n";
  }
  out << "</div>\n";
}

// Layer time against one size dimension (tokens per rank, or ranks) for every series of cells that
// differ only in it, when any series has two sizes or more.
void size_plot(std::ostream& out, const std::vector<Report>& reports, const char* dimension,
               const std::string& title) {
  struct Point {
    double size, us;
  };
  std::map<std::string, std::vector<Point>> series;
  for (const auto& r : reports) {
    const json& config = r.config;
    for (const auto& cell : r.results) {
      const double tokens = cell.tokens_per_rank ? static_cast<double>(*cell.tokens_per_rank)
                                                 : config.value("tokens_per_rank", 0.0);
      const double ranks = cell.ranks ? *cell.ranks : config.value("ranks", 0.0);
      const bool by_tokens = std::string(dimension) == "tokens";
      const std::string key =
          cell_label(cell) + (by_tokens ? ", " + format_fixed(ranks, 0) + " ranks"
                                        : ", " + format_fixed(tokens, 0) + " tokens per rank");
      series[key].push_back({by_tokens ? tokens : ranks, cell.median_us(Phase::kLayer)});
    }
  }
  double lo = INFINITY, hi = 0.0, top = 0.0;
  int plotted = 0;
  for (auto& [key, points] : series) {
    std::sort(points.begin(), points.end(),
              [](const Point& a, const Point& b) { return a.size < b.size; });
    if (points.size() < 2 || points.front().size == points.back().size) continue;
    ++plotted;
    for (const auto& p : points) {
      lo = std::min(lo, p.size);
      hi = std::max(hi, p.size);
      top = std::max(top, p.us);
    }
  }
  if (plotted == 0) return;
  const int width = 520, height = 300;
  auto x_of = [&](double size) {  // log2 scale
    return 40 + (hi > lo ? std::log2(size / lo) / std::log2(hi / lo) * width : 0.0);
  };
  auto y_of = [&](double us) { return 10 + height - (top > 0 ? us / top * height : 0.0); };
  out << "<h2>" << title << "</h2><p>Median layer time; x from " << format_fixed(lo, 0) << " to "
      << format_fixed(hi, 0) << " (log scale), y from 0 to " << format_fixed(top, 1)
      << " us.</p>\n<svg class=\"sweep\" width=\"" << width + 60 << "\" height=\""
      << height + 20 + 16 * plotted << "\">\n";
  int index = 0;
  for (const auto& [key, points] : series) {
    if (points.size() < 2 || points.front().size == points.back().size) continue;
    const char* colour = kPhaseColours[index % std::size(kPhaseColours)];
    out << "<polyline class=\"sweep-line\" fill=\"none\" stroke=\"" << colour << "\" points=\"";
    for (const auto& p : points) {
      out << format_fixed(x_of(p.size), 2) << "," << format_fixed(y_of(p.us), 2) << " ";
    }
    out << "\"/>\n";
    for (const auto& p : points) {
      out << "<circle class=\"sweep-point\" cx=\"" << format_fixed(x_of(p.size), 2) << "\" cy=\""
          << format_fixed(y_of(p.us), 2) << "\" r=\"3\" fill=\"" << colour << "\"><title>"
          << escape(key) << ": " << format_fixed(p.size, 0) << ", " << format_fixed(p.us, 1)
          << " us</title></circle>\n";
    }
    out << "<text x=\"40\" y=\"" << height + 30 + 16 * index << "\" fill=\"" << colour << "\">"
        << escape(key) << "</text>\n";
    ++index;
  }
  out << "</svg>\n";
}

// A report that runs its grid at several token counts (`run --sweep tokens=...`).
bool sweeps_tokens(const json& config) {
  const json* sweep = config.contains("sweep") ? &config["sweep"] : nullptr;
  return sweep && sweep->is_object() && sweep->contains("tokens_per_rank") &&
         (*sweep)["tokens_per_rank"].is_array();
}

// One line of a log-log plot: its points (x, y), both positive, in x order.
struct LogLine {
  std::string label;  // the cell and its payload type
  const char* colour;
  bool hollow;       // points drawn open: the colours' second round, past ten cells
  std::string dash;  // the payload type's dash pattern; empty: solid
  std::vector<std::pair<double, double>> points;
};

// Ten colours that stay apart on white, one per cell; the payload type sets the dash.
const char* const kLineColours[] = {"#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f",
                                    "#edc948", "#b07aa1", "#ff9da7", "#9c755f", "#bab0ac"};

std::string dash_of(const std::string& dtype) {
  if (dtype == "fp32") return "";
  if (dtype == "bf16") return "7,3";
  if (dtype == "fp8") return "2,3";
  return "9,3,2,3";
}

// Tick values of a log axis over [lo, hi]: powers of `base`, thinned to at most about 12.
std::vector<double> log_ticks(double lo, double hi, double base) {
  const int first = static_cast<int>(std::floor(std::log(lo) / std::log(base) + 1e-9));
  const int last = static_cast<int>(std::ceil(std::log(hi) / std::log(base) - 1e-9));
  const int step = std::max(1, (last - first + 11) / 12);
  std::vector<double> ticks;
  for (int e = first; e <= last; e += step) ticks.push_back(std::pow(base, e));
  return ticks;
}

std::string tick_text(double value) {
  if (value >= 1e6 && value == std::floor(value)) {
    std::ostringstream out;
    out << value;
    return out.str();
  }
  return value >= 1 ? format_fixed(value, 0) : format_fixed(value, value >= 0.1 ? 1 : 3);
}

// `lines` on log2 x (tokens per rank) and log10 y (us) axes, the axes spanning whole powers.
void log_log_svg(std::ostream& out, const std::string& css, const std::vector<LogLine>& lines) {
  double x_lo = INFINITY, x_hi = 0.0, y_lo = INFINITY, y_hi = 0.0;
  for (const LogLine& line : lines) {
    for (const auto& [x, y] : line.points) {
      x_lo = std::min(x_lo, x), x_hi = std::max(x_hi, x);
      y_lo = std::min(y_lo, y), y_hi = std::max(y_hi, y);
    }
  }
  const std::vector<double> x_ticks = log_ticks(x_lo, x_hi, 2.0);
  const std::vector<double> y_ticks = log_ticks(y_lo, y_hi, 10.0);
  x_lo = std::min(x_lo, x_ticks.front()), x_hi = std::max(x_hi, x_ticks.back());
  y_lo = std::min(y_lo, y_ticks.front()), y_hi = std::max(y_hi, y_ticks.back());
  if (!(x_hi > x_lo)) x_lo /= 2, x_hi *= 2;
  if (!(y_hi > y_lo)) y_lo /= 10, y_hi *= 10;
  const int left = 60, top = 10, width = 520, height = 300, legend = 16;
  auto x_of = [&](double x) { return left + std::log(x / x_lo) / std::log(x_hi / x_lo) * width; };
  auto y_of = [&](double y) {
    return top + height - std::log(y / y_lo) / std::log(y_hi / y_lo) * height;
  };
  out << "<svg class=\"" << css << "\" width=\"" << left + width + 20 << "\" height=\""
      << top + height + 46 + legend * lines.size() << "\">\n"
      << "<rect x=\"" << left << "\" y=\"" << top << "\" width=\"" << width << "\" height=\""
      << height << "\" fill=\"none\" stroke=\"#999\"/>\n";
  for (double t : x_ticks) {
    const std::string x = format_fixed(x_of(t), 2);
    out << "<line class=\"grid\" x1=\"" << x << "\" y1=\"" << top << "\" x2=\"" << x << "\" y2=\""
        << top + height << "\" stroke=\"#eee\"/><text x=\"" << x << "\" y=\"" << top + height + 16
        << "\" text-anchor=\"middle\">" << tick_text(t) << "</text>\n";
  }
  for (double t : y_ticks) {
    const std::string y = format_fixed(y_of(t), 2);
    out << "<line class=\"grid\" x1=\"" << left << "\" y1=\"" << y << "\" x2=\"" << left + width
        << "\" y2=\"" << y << "\" stroke=\"#eee\"/><text x=\"" << left - 6 << "\" y=\"" << y
        << "\" text-anchor=\"end\" dominant-baseline=\"middle\">" << tick_text(t) << "</text>\n";
  }
  out << "<text x=\"" << left + width / 2 << "\" y=\"" << top + height + 34
      << "\" text-anchor=\"middle\">tokens per rank</text>\n<text x=\"12\" y=\"" << top + height / 2
      << "\" text-anchor=\"middle\" transform=\"rotate(-90 12 " << top + height / 2
      << ")\">us</text>\n";
  int index = 0;
  for (const LogLine& line : lines) {
    const std::string dash = line.dash.empty() ? "" : " stroke-dasharray=\"" + line.dash + "\"";
    out << "<polyline class=\"latency-line\" fill=\"none\" stroke=\"" << line.colour
        << "\" stroke-width=\"1.5\"" << dash << " points=\"";
    for (const auto& [x, y] : line.points) {
      out << format_fixed(x_of(x), 2) << "," << format_fixed(y_of(y), 2) << " ";
    }
    out << "\"><title>" << escape(line.label) << "</title></polyline>\n";
    const std::string marker = line.hollow
                                   ? std::string("fill=\"white\" stroke=\"") + line.colour + "\""
                                   : std::string("fill=\"") + line.colour + "\"";
    for (const auto& [x, y] : line.points) {
      out << "<circle class=\"latency-point\" cx=\"" << format_fixed(x_of(x), 2) << "\" cy=\""
          << format_fixed(y_of(y), 2) << "\" r=\"2.5\" " << marker << "><title>"
          << escape(line.label) << ": " << tick_text(x) << " tokens per rank, "
          << format_fixed(y, 1) << " us</title></circle>\n";
    }
    const int y = top + height + 50 + legend * index;
    out << "<line x1=\"" << left << "\" y1=\"" << y - 4 << "\" x2=\"" << left + 24 << "\" y2=\""
        << y - 4 << "\" stroke=\"" << line.colour << "\" stroke-width=\"2\"" << dash
        << "/><circle cx=\"" << left + 12 << "\" cy=\"" << y - 4 << "\" r=\"2.5\" " << marker
        << "/><text class=\"latency-legend\" x=\"" << left + 30 << "\" y=\"" << y << "\">"
        << escape(line.label) << "</text>\n";
    ++index;
  }
  out << "</svg>\n";
}

// For reports that sweep tokens per rank: the median layer latency and the median dispatch +
// combine latency against tokens per rank on log-log axes, one line per cell (routing, Top-T,
// strategy, placement; the layer when there are several) and payload type. From one token per
// rank (decode: fixed costs, latency flat) to thousands (prefill: latency grows with the rows),
// both regimes on one scale.
void latency_sweep_plots(std::ostream& out, const std::vector<Report>& reports,
                         const std::vector<std::string>& sources) {
  struct Series {
    std::string cell, dtype;
    std::vector<std::array<double, 3>> points;  // tokens, layer us, dispatch + combine us
  };
  std::vector<Series> series;
  std::map<std::string, size_t> index_of;  // cell + payload type -> series
  std::vector<std::string> cells;          // distinct cells in order, one colour each
  int swept = 0;
  for (const Report& r : reports) swept += sweeps_tokens(r.config) ? 1 : 0;
  for (size_t i = 0; i < reports.size(); ++i) {
    if (!sweeps_tokens(reports[i].config)) continue;
    std::map<int, int> layers;
    for (const auto& cell : reports[i].results) ++layers[cell.layer.value_or(0)];
    for (const auto& cell : reports[i].results) {
      if (!cell.tokens_per_rank || *cell.tokens_per_rank < 1) continue;
      // The cell without its payload type (one colour), the type a dash of its own.
      const std::string dtype = cell.dtype;
      std::string key_text = cell_key(cell, {/*layer=*/layers.size() > 1, /*sizes=*/false});
      if (dtype != "fp32") key_text.erase(key_text.rfind(" " + dtype), dtype.size() + 1);
      const std::string name = (swept > 1 ? sources[i] + ": " : "") + key_text;
      const std::string key = name + "\n" + dtype;
      if (!index_of.count(key)) {
        index_of[key] = series.size();
        series.push_back({name, dtype, {}});
        if (std::find(cells.begin(), cells.end(), name) == cells.end()) cells.push_back(name);
      }
      series[index_of[key]].points.push_back(
          {static_cast<double>(*cell.tokens_per_rank), cell.median_us(Phase::kLayer),
           cell.median_us(Phase::kDispatch) + cell.median_us(Phase::kCombine)});
    }
  }
  if (series.empty()) return;
  out << "<h2>Latency vs tokens per rank</h2><p>Median layer latency and median dispatch + combine "
         "latency (each the per-iteration maximum over ranks) against tokens per rank, both axes "
         "logarithmic: one colour per cell, one dash per payload type (solid fp32, dashed bf16, "
         "dotted fp8).</p>\n";
  for (const auto& [css, caption, column] :
       {std::tuple{"latency-layer", "layer latency (us)", 1},
        std::tuple{"latency-exchange", "dispatch + combine latency (us)", 2}}) {
    std::vector<LogLine> lines;
    for (Series& s : series) {
      std::sort(s.points.begin(), s.points.end());
      const size_t cell = std::find(cells.begin(), cells.end(), s.cell) - cells.begin();
      LogLine line{s.cell + " " + s.dtype,
                   kLineColours[cell % std::size(kLineColours)],
                   (cell / std::size(kLineColours)) % 2 == 1,
                   dash_of(s.dtype),
                   {}};
      // Log axes: a phase timed 0 us (not measured) has no place on them.
      for (const auto& p : s.points) {
        if (p[column] > 0.0) line.points.emplace_back(p[0], p[column]);
      }
      if (!line.points.empty()) lines.push_back(std::move(line));
    }
    if (lines.empty()) continue;
    out << "<figure><figcaption>" << caption << "</figcaption>\n";
    log_log_svg(out, css, lines);
    out << "</figure>\n";
  }
}

void tuning_scatter(std::ostream& out, const std::optional<Tuning>& tuning) {
  if (!tuning || !tuning->validation) return;
  const Validation& validation = *tuning->validation;
  // Both axes span the same range around the points, so the diagonal is a perfect prediction.
  double lo = INFINITY, hi = 0.0;
  for (const auto& p : validation.points) {
    for (const PhaseTimes* side : {&p.predicted, &p.measured}) {
      lo = std::min(lo, side->at(Phase::kLayer));
      hi = std::max(hi, side->at(Phase::kLayer));
    }
  }
  const double pad = (hi - lo) * 0.05 + 1e-9;
  lo = std::max(0.0, lo - pad);
  hi += pad;
  const int size = 360;
  auto at = [&](double v) { return hi > lo ? (v - lo) / (hi - lo) * size : 0.0; };
  out << "<h2>Tuner: predicted vs measured layer time</h2><p>Spearman "
      << format_fixed(validation.spearman_layer, 3) << "; axes " << format_fixed(lo, 0) << " to "
      << format_fixed(hi, 0)
      << " us (x measured, y predicted); the diagonal is a perfect prediction; red: tuned.</p>\n"
      << "<svg class=\"scatter\" width=\"" << size + 20 << "\" height=\"" << size + 20 << "\">\n"
      << "<rect x=\"10\" y=\"10\" width=\"" << size << "\" height=\"" << size
      << "\" fill=\"none\" stroke=\"#ccc\"/>\n<line x1=\"10\" y1=\"" << size + 10 << "\" x2=\""
      << size + 10 << "\" y2=\"10\" stroke=\"#999\"/>\n";
  for (const auto& p : validation.points) {
    const double x = at(p.measured.at(Phase::kLayer));
    const double y = at(p.predicted.at(Phase::kLayer));
    out << "<circle class=\"scatter-point\" cx=\"" << format_fixed(10 + x, 2) << "\" cy=\""
        << format_fixed(size + 10 - y, 2) << "\" r=\"4\" fill=\""
        << (p.placement == "tuned" ? "#d62728" : "#4e79a7") << "\"><title>"
        << escape(p.placement + " layer " + std::to_string(p.layer)) << "</title></circle>\n";
  }
  out << "</svg>\n";
}

}  // namespace

Tuning parse_report_tuning(const std::string& text, const std::string& source) {
  return tuning_from_json(parse_json_text(text, source), source);
}

std::string render_html(const std::vector<Report>& reports, const std::vector<std::string>& sources,
                        const std::optional<Tuning>& tuning) {
  std::ostringstream out;
  out << "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>c2rbench report</title>\n"
         "<style>body{font-family:sans-serif;margin:20px;}svg text{font-size:12px;}"
         "figure{display:inline-block;margin:6px 12px;vertical-align:top;}"
         "figcaption{font-size:12px;color:#444;}.cell{border-top:1px solid #ddd;}</style>\n"
         "</head><body>\n<h1>c2rbench report</h1>\n<ul>\n";
  for (size_t i = 0; i < reports.size(); ++i) {
    const json& config = reports[i].config;
    const json& model = config.value("model", json::object());
    out << "<li>" << escape(sources[i]) << ": " << escape(model.value("preset", "?")) << ", "
        << config.value("ranks", json(0)).dump() << " ranks, "
        << config.value("tokens_per_rank", json(0)).dump() << " tokens per rank, backend "
        << escape(config.value("backend", "cpu")) << ", " << reports[i].results.size()
        << " cells</li>\n";
  }
  out << "</ul>\n";
  phase_bars(out, reports, sources);
  size_plot(out, reports, "tokens", "Layer time vs tokens per rank");
  size_plot(out, reports, "ranks", "Layer time vs ranks");
  latency_sweep_plots(out, reports, sources);
  out << "<h2>Traffic, collaboration, load and efficiency per cell</h2>\n";
  for (const auto& r : reports) {
    for (const auto& cell : r.results) cell_details(out, cell);
  }
  tuning_scatter(out, tuning);
  out << "</body></html>\n";
  return out.str();
}

}  // namespace c2r
