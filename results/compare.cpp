#include "results/compare.hpp"

#include <algorithm>
#include <cmath>
#include <map>

#include "common/error.hpp"
#include "results/stats.hpp"
#include "results/table.hpp"

namespace c2r {

using nlohmann::json;

namespace {

double median(std::vector<double> values) {
  std::sort(values.begin(), values.end());
  return percentile(values, 0.5);
}

std::vector<double> samples_of(const PhaseStats& phase) {
  if (!phase.samples_us.empty()) return phase.samples_us;
  return {phase.stats.median};  // no samples: the median alone, no interval
}

// Context fields whose difference makes a comparison suspect.
void warn_on_context(const Report& a, const Report& b, const std::string& source,
                     std::vector<std::string>& warnings) {
  auto differs = [&](const char* what, const json& x, const json& y) {
    if (x != y) warnings.push_back(source + ": " + what + " differ from the reference's");
  };
  const json& ca = a.context;
  const json& cb = b.context;
  differs("hosts", ca.value("hosts", json()), cb.value("hosts", json()));
  differs("rank counts", ca.value("ranks", json()), cb.value("ranks", json()));
  differs("rank bindings", ca.value("rank_binding", json()), cb.value("rank_binding", json()));
  differs("versions", ca.value("versions", json()), cb.value("versions", json()));
  differs("models", a.config.value("model", json()), b.config.value("model", json()));
  differs("tokens per rank", a.config.value("tokens_per_rank", json()),
          b.config.value("tokens_per_rank", json()));
  differs("backends", a.config.value("backend", json()), b.config.value("backend", json()));
}

}  // namespace

json compare_reports(const std::vector<Report>& reports, const std::vector<std::string>& sources,
                     const CompareOptions& options) {
  C2R_CHECK(reports.size() >= 2, "compare needs at least two reports");
  C2R_CHECK(options.confidence > 0.0 && options.confidence < 1.0,
            "the confidence level must be between 0 and 1");
  C2R_CHECK(options.resamples >= 100, "the bootstrap needs at least 100 resamples");
  const Report& reference = reports.front();
  std::map<std::string, const CellResult*> reference_cells;
  std::vector<std::string> order;
  for (const auto& cell : reference.results) {
    const std::string key = cell_key(cell);
    if (reference_cells.emplace(key, &cell).second) order.push_back(key);
  }
  json rows = json::array(), unmatched = json::array();
  std::vector<std::string> warnings;
  int regressions = 0;
  for (size_t i = 1; i < reports.size(); ++i) {
    warn_on_context(reference, reports[i], sources[i], warnings);
    std::map<std::string, const CellResult*> cells;
    for (const auto& cell : reports[i].results) cells.emplace(cell_key(cell), &cell);
    for (const auto& [key, cell] : cells) {
      if (!reference_cells.count(key)) unmatched.push_back(sources[i] + ": " + key);
    }
    for (const auto& key : order) {
      auto it = cells.find(key);
      if (it == cells.end()) {
        unmatched.push_back(sources[0] + ": " + key + " (not in " + sources[i] + ")");
        continue;
      }
      for (const auto& phase : options.phases) {
        const std::optional<Phase> p = phase_from_name(phase);
        if (!p) continue;
        const auto& pa = reference_cells[key]->phase(*p);
        const auto& pb = it->second->phase(*p);
        if (!pa || !pb) continue;
        const std::vector<double> a = samples_of(*pa), b = samples_of(*pb);
        const RatioInterval r =
            bootstrap_median_ratio(a, b, options.confidence, options.resamples, options.seed);
        std::string verdict = "same";
        if (r.ratio > 0 && r.low > 1.0) verdict = "slower";
        if (r.ratio > 0 && r.high < 1.0) verdict = "faster";
        if (verdict == "slower" && options.threshold >= 0 && r.ratio > 1.0 + options.threshold) {
          verdict = "regression";
          ++regressions;
        }
        rows.push_back({{"cell", key},
                        {"phase", phase},
                        {"report", sources[i]},
                        {"reference_median_us", median(a)},
                        {"median_us", median(b)},
                        {"ratio", r.ratio},
                        {"ci_low", r.low},
                        {"ci_high", r.high},
                        {"verdict", verdict}});
      }
    }
  }
  return {{"reference", sources[0]},
          {"compared", std::vector<std::string>(sources.begin() + 1, sources.end())},
          {"confidence", options.confidence},
          {"threshold", options.threshold},
          {"warnings", warnings},
          {"rows", rows},
          {"regressions", regressions},
          {"unmatched", unmatched}};
}

void print_comparison(std::ostream& out, const json& c, const std::string& format) {
  if (format == "json") {
    out << c.dump(1) << "\n";
    return;
  }
  C2R_CHECK(format == "table" || format == "markdown",
            "unknown comparison format '" << format << "' (known: table, markdown, json)");
  const bool markdown = format == "markdown";
  const std::string note = markdown ? "" : "# ";
  out << note << "reference: " << c["reference"].get<std::string>() << "; ratio = median / "
      << "reference median, " << format_fixed(c["confidence"].get<double>() * 100, 0)
      << "% bootstrap interval; faster / slower when the interval excludes 1\n";
  for (const auto& w : c["warnings"]) out << note << "warning: " << w.get<std::string>() << "\n";
  std::vector<std::vector<std::string>> body;
  for (const auto& r : c["rows"]) {
    body.push_back(
        {r["report"].get<std::string>(), r["cell"].get<std::string>(),
         r["phase"].get<std::string>(), format_fixed(r["reference_median_us"].get<double>(), 1),
         format_fixed(r["median_us"].get<double>(), 1), format_fixed(r["ratio"].get<double>(), 3),
         "[" + format_fixed(r["ci_low"].get<double>(), 3) + ", " +
             format_fixed(r["ci_high"].get<double>(), 3) + "]",
         r["verdict"].get<std::string>()});
  }
  const std::vector<std::string> header = {"report", "cell",  "phase",    "reference us",
                                           "us",     "ratio", "interval", "verdict"};
  if (markdown) {
    out << "|";
    for (const auto& h : header) out << " " << h << " |";
    out << "\n|";
    for (size_t i = 0; i < header.size(); ++i)
      out << (i < 3 || i == 6 || i == 7 ? "---|" : "---:|");
    out << "\n";
    for (const auto& row : body) {
      out << "|";
      for (const auto& cell : row) out << " " << cell << " |";
      out << "\n";
    }
  } else {
    Table table({{"report", "", true},
                 {"cell", "", true},
                 {"phase", "", true},
                 {"reference", "us"},
                 {"median", "us"},
                 {"ratio", "x"},
                 {"interval", "x", true},
                 {"verdict", "", true}});
    for (auto& row : body) table.add_row(row);
    table.print(out);
  }
  for (const auto& u : c["unmatched"]) out << note << "unmatched: " << u.get<std::string>() << "\n";
  if (c["threshold"].get<double>() >= 0) {
    out << note << c["regressions"].get<int>() << " significant regression(s) beyond "
        << format_fixed(c["threshold"].get<double>() * 100, 1) << "%\n";
  }
}

}  // namespace c2r
