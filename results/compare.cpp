#include "results/compare.hpp"

#include <algorithm>
#include <cmath>
#include <map>
#include <set>

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
  return {phase.stats.median};  // no samples: the median alone, one sample
}

std::string joined(const std::vector<std::string>& parts, const std::string& separator) {
  std::string out;
  for (size_t i = 0; i < parts.size(); ++i) out += (i ? separator : "") + parts[i];
  return out;
}

// Whether a recorded environment variable changes what a run does or measures, rather than
// naming this job or process (launcher bookkeeping: ids, ranks, addresses, directories): Open
// MPI's MCA parameters but its runtime's own, UCX, NCCL, OpenBLAS and OpenMP settings,
// CUDA_VISIBLE_DEVICES, and Slurm's task layout and binding.
bool changes_results(const std::string& name) {
  auto starts = [&](const char* prefix) { return name.rfind(prefix, 0) == 0; };
  if (starts("UCX_") || starts("NCCL_") || starts("OPENBLAS_") || starts("OMP_") ||
      name == "CUDA_VISIBLE_DEVICES") {
    return true;
  }
  if (starts("OMPI_MCA_")) {
    for (const char* own : {"OMPI_MCA_orte_", "OMPI_MCA_ess", "OMPI_MCA_pmix",
                            "OMPI_MCA_initial_wdir", "OMPI_MCA_shmem_RUNTIME_QUERY_hint"}) {
      if (starts(own)) return false;
    }
    return true;
  }
  for (const char* layout :
       {"SLURM_CPUS_PER_TASK", "SLURM_CPU_BIND", "SLURM_DISTRIBUTION", "SLURM_NTASKS_PER_NODE",
        "SLURM_HINT", "SLURM_THREADS_PER_CORE", "SLURM_MEM_PER_CPU", "SLURM_MEM_PER_NODE"}) {
    if (starts(layout)) return true;
  }
  return false;
}

// "OMP_NUM_THREADS (4 against unset), ..." for the variables that change results and differ
// between two recorded environments; empty when none does (or neither report records one).
std::string environment_differences(const json& a, const json& b) {
  if (!a.is_object() || !b.is_object()) return "";
  std::set<std::string> names;
  for (const auto& [name, value] : a.items()) names.insert(name);
  for (const auto& [name, value] : b.items()) names.insert(name);
  std::vector<std::string> differ;
  auto text = [](const json& env, const std::string& name) {
    return env.contains(name) && env[name].is_string() ? env[name].get<std::string>() : "unset";
  };
  for (const std::string& name : names) {
    if (!changes_results(name) || text(a, name) == text(b, name)) continue;
    differ.push_back(name + " (" + text(b, name) + " against " + text(a, name) + ")");
  }
  return joined(differ, ", ");
}

// Context fields whose difference makes a comparison suspect; `against` names a ("the
// reference's").
void warn_on_context(const Report& a, const Report& b, const std::string& source,
                     const std::string& against, std::vector<std::string>& warnings) {
  auto differs = [&](const char* what, const json& x, const json& y) {
    if (x != y) warnings.push_back(source + ": " + what + " differ from " + against);
  };
  const json& ca = a.context;
  const json& cb = b.context;
  differs("hosts", ca.value("hosts", json()), cb.value("hosts", json()));
  differs("rank counts", ca.value("ranks", json()), cb.value("ranks", json()));
  differs("rank bindings", ca.value("rank_binding", json()), cb.value("rank_binding", json()));
  differs("versions", ca.value("versions", json()), cb.value("versions", json()));
  differs("launchers", ca.value("launcher", json()), cb.value("launcher", json()));
  const std::string environment =
      environment_differences(ca.value("environment", json()), cb.value("environment", json()));
  if (!environment.empty()) {
    warnings.push_back(source + ": environment differs from " + against + ": " + environment);
  }
}

// Sides may differ in their grids (that is often what is compared), not in what the cells are
// made of.
void warn_on_setup(const Report& a, const Report& b, const std::string& source,
                   std::vector<std::string>& warnings) {
  auto differs = [&](const char* what, const json& x, const json& y) {
    if (x != y) warnings.push_back(source + ": " + what + " differ from the reference's");
  };
  differs("models", a.config.value("model", json()), b.config.value("model", json()));
  differs("tokens per rank", a.config.value("tokens_per_rank", json()),
          b.config.value("tokens_per_rank", json()));
  differs("backends", a.config.value("backend", json()), b.config.value("backend", json()));
}

// Repeated runs of a side should share their whole configuration: name the keys that differ.
void warn_on_config(const Report& first, const Report& run, const std::string& first_source,
                    const std::string& source, std::vector<std::string>& warnings) {
  std::vector<std::string> keys;
  if (first.config.is_object() && run.config.is_object()) {
    for (const auto& [key, value] : first.config.items()) {
      if (!run.config.contains(key) || run.config[key] != value) keys.push_back(key);
    }
    for (const auto& [key, value] : run.config.items()) {
      if (!first.config.contains(key)) keys.push_back(key);
    }
  } else if (first.config != run.config) {
    keys.push_back("config");
  }
  if (keys.empty()) return;
  warnings.push_back(source + ": configuration differs from " + first_source +
                     "'s, a run of the same side (" + joined(keys, ", ") + ")");
}

// A side's cells: per run, cell_key -> its cell (a report's first cell of a key, as in the
// reference), and every key in the order the runs first list it.
struct SideCells {
  std::vector<std::map<std::string, const CellResult*>> runs;  // [runs]
  std::vector<std::string> order;
};

SideCells index_cells(const CompareSide& side) {
  SideCells cells;
  std::map<std::string, bool> seen;
  for (const Report& run : side.runs) {
    std::map<std::string, const CellResult*> by_key;
    for (const auto& cell : run.results) {
      const std::string key = cell_key(cell);
      by_key.emplace(key, &cell);
      if (seen.emplace(key, true).second) cells.order.push_back(key);
    }
    cells.runs.push_back(std::move(by_key));
  }
  return cells;
}

// The phase's samples in every run of the side that has the cell and the phase:
// [runs that have it][iterations of that run].
std::vector<std::vector<double>> phase_runs(const SideCells& side, const std::string& key,
                                            Phase phase) {
  std::vector<std::vector<double>> runs;
  for (const auto& by_key : side.runs) {
    auto it = by_key.find(key);
    if (it == by_key.end()) continue;
    const auto& p = it->second->phase(phase);
    if (p) runs.push_back(samples_of(*p));
  }
  return runs;
}

size_t pooled_size(const std::vector<std::vector<double>>& runs) {
  size_t n = 0;
  for (const auto& run : runs) n += run.size();
  return n;
}

std::vector<double> pooled(const std::vector<std::vector<double>>& runs) {
  std::vector<double> all;
  for (const auto& run : runs) all.insert(all.end(), run.begin(), run.end());
  return all;
}

// The names of every phase a result can hold, in Phase order.
std::vector<std::string> result_phase_names() {
  std::vector<std::string> names;
  for (int p = 0; p < kNumResultPhases; ++p) names.push_back(phase_name(static_cast<Phase>(p)));
  return names;
}

// An interval bound as the JSON holds it: the number, or "inf" for an unbounded one (JSON has no
// infinity, and null means "no interval").
json bound_json(double bound) {
  return std::isfinite(bound) ? json(bound) : json("inf");
}

std::string bound_text(const json& bound) {
  return bound.is_string() ? bound.get<std::string>() : format_fixed(bound.get<double>(), 3);
}

// Why a row gets no verdict; "" when it gets one.
std::string no_verdict_reason(const RatioInterval& r, size_t reference_samples, size_t samples,
                              const std::string& reference, const std::string& side) {
  if (r.ratio <= 0.0) return "no positive median on a side";
  auto too_few = [](size_t n, const std::string& name) {
    return std::to_string(n) + " sample(s) in " + name + ": a verdict needs at least " +
           std::to_string(kMinSamplesToDecide) + " on each side";
  };
  if (!enough_to_decide(reference_samples)) return too_few(reference_samples, reference);
  if (!enough_to_decide(samples)) return too_few(samples, side);
  return "";
}

// One warning for every side of a single run: its interval cannot know the run effect.
void warn_on_single_runs(const std::vector<CompareSide>& sides,
                         std::vector<std::string>& warnings) {
  std::vector<std::string> single;
  for (const auto& side : sides) {
    if (side.runs.size() == 1) single.push_back(side_name(side));
  }
  if (single.empty()) return;
  warnings.push_back(
      joined(single, ", ") + (single.size() == 1 ? " is one run" : " are one run each") +
      ": intervals and verdicts come from the iterations within a run only, not from how much a "
      "whole run moves, so two runs of the same build can differ significantly; give repeated "
      "runs of a side as a comma-separated list (a1.json,a2.json,a3.json), 3 or more per side");
}

}  // namespace

std::string side_name(const CompareSide& side) {
  return joined(side.sources, ",");
}

json compare_reports(const std::vector<CompareSide>& sides, const CompareOptions& options) {
  C2R_CHECK(sides.size() >= 2, "compare needs at least two reports");
  C2R_CHECK(options.confidence > 0.0 && options.confidence < 1.0,
            "the confidence level must be between 0 and 1");
  C2R_CHECK(options.resamples >= 100, "the bootstrap needs at least 100 resamples");
  C2R_CHECK(options.resamples <= kMaxResamples,
            "at most " << kMaxResamples << " bootstrap resamples, not " << options.resamples
                       << ": more do not move the printed bounds and cost time in proportion");
  for (const auto& phase : options.phases) {
    C2R_CHECK(
        phase_from_name(phase),
        "unknown phase '" << phase << "' (known: " << joined(result_phase_names(), ", ") << ")");
  }
  for (const auto& side : sides) {
    C2R_CHECK(!side.runs.empty() && side.runs.size() == side.sources.size(),
              "a side of a comparison needs at least one report, and a source for each");
  }
  std::vector<std::string> names, warnings;
  for (const auto& side : sides) names.push_back(side_name(side));
  warn_on_single_runs(sides, warnings);
  for (const auto& side : sides) {
    for (size_t r = 0; r < side.runs.size(); ++r) {
      const std::string partial = incomplete_warning(side.runs[r], side.sources[r]);
      if (!partial.empty()) warnings.push_back(partial);
    }
  }
  for (const auto& side : sides) {
    for (size_t r = 1; r < side.runs.size(); ++r) {
      warn_on_context(side.runs[0], side.runs[r], side.sources[r],
                      side.sources[0] + "'s, a run of the same side", warnings);
      warn_on_config(side.runs[0], side.runs[r], side.sources[0], side.sources[r], warnings);
    }
  }
  const SideCells reference = index_cells(sides.front());
  json rows = json::array(), unmatched = json::array(), described = json::array();
  for (const auto& side : sides)
    described.push_back({{"name", side_name(side)}, {"reports", side.sources}});
  int regressions = 0, capped_rows = 0;
  for (size_t i = 1; i < sides.size(); ++i) {
    warn_on_context(sides[0].runs[0], sides[i].runs[0], names[i], "the reference's", warnings);
    warn_on_setup(sides[0].runs[0], sides[i].runs[0], names[i], warnings);
    const SideCells cells = index_cells(sides[i]);
    const std::set<std::string> here(cells.order.begin(), cells.order.end());
    const std::set<std::string> there(reference.order.begin(), reference.order.end());
    for (const auto& key : cells.order) {
      if (!there.count(key)) unmatched.push_back(names[i] + ": " + key);
    }
    for (const auto& key : reference.order) {
      if (!here.count(key)) {
        unmatched.push_back(names[0] + ": " + key + " (not in " + names[i] + ")");
        continue;
      }
      for (const auto& phase : options.phases) {
        const Phase p = *phase_from_name(phase);  // checked above
        const auto a = phase_runs(reference, key, p), b = phase_runs(cells, key, p);
        if (a.empty() || b.empty()) continue;
        const double median_a = median(pooled(a)), median_b = median(pooled(b));
        // A median of 0 us is a phase that side did not time (the readers refuse negative
        // times). Against a timed one there is no ratio to bootstrap, and calling it "same" or
        // "n/a" would hide a phase that appeared or vanished: refused, by cell and phase.
        C2R_CHECK((median_a == 0.0) == (median_b == 0.0),
                  key << ", phase " << phase << ": the median is " << format_fixed(median_a, 1)
                      << " us in " << names[0] << " and " << format_fixed(median_b, 1) << " us in "
                      << names[i]
                      << "; a phase timed as 0 on one side only (not measured there) cannot be "
                         "compared: compare the other phases");
        const bool untimed = median_a == 0.0 && median_b == 0.0;
        const RatioInterval r = untimed
                                    ? RatioInterval{}
                                    : bootstrap_runs_median_ratio(a, b, options.confidence,
                                                                  options.resamples, options.seed);
        const size_t na = pooled_size(a), nb = pooled_size(b);
        const std::string reason = untimed ? "0 us on both sides (a phase neither side timed)"
                                           : no_verdict_reason(r, na, nb, names[0], names[i]);
        std::string verdict = "same";
        if (!reason.empty())
          verdict = "n/a";
        else if (r.low > 1.0)
          verdict = "slower";
        else if (r.high < 1.0)
          verdict = "faster";
        if (verdict == "slower" && options.threshold >= 0 && r.ratio > 1.0 + options.threshold) {
          verdict = "regression";
          ++regressions;
        }
        json row = {{"cell", key},
                    {"phase", phase},
                    {"report", names[i]},
                    {"runs", {a.size(), b.size()}},
                    {"samples", {na, nb}},
                    {"reference_median_us", median_a},
                    {"median_us", median_b},
                    {"ratio", r.ratio > 0.0 ? json(r.ratio) : json()},
                    {"ci_low", reason.empty() ? bound_json(r.low) : json()},
                    {"ci_high", reason.empty() ? bound_json(r.high) : json()},
                    {"verdict", verdict}};
        if (!reason.empty()) row["reason"] = reason;
        if (r.thinned) {
          row["bootstrap_samples"] = {r.drawn_a, r.drawn_b};
          ++capped_rows;
        }
        rows.push_back(std::move(row));
      }
    }
  }
  return {{"reference", names[0]},
          {"compared", std::vector<std::string>(names.begin() + 1, names.end())},
          {"sides", described},
          {"confidence", options.confidence},
          {"threshold", options.threshold},
          {"warnings", warnings},
          {"rows", rows},
          {"regressions", regressions},
          {"unmatched", unmatched},
          {"max_bootstrap_samples", kMaxBootstrapSamples},
          {"capped_rows", capped_rows}};
}

json compare_reports(const std::vector<Report>& reports, const std::vector<std::string>& sources,
                     const CompareOptions& options) {
  C2R_CHECK(reports.size() == sources.size(), "compare needs a source for each report");
  std::vector<CompareSide> sides;
  for (size_t i = 0; i < reports.size(); ++i) sides.push_back({{reports[i]}, {sources[i]}});
  return compare_reports(sides, options);
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
      << "reference median (each pooled over a side's runs), "
      << format_fixed(c["confidence"].get<double>() * 100, 0)
      << "% two-level bootstrap interval (runs, then iterations); faster / slower when the "
         "interval excludes 1; n/a: too few samples to decide\n";
  for (const auto& w : c["warnings"]) out << note << "warning: " << w.get<std::string>() << "\n";
  std::vector<std::vector<std::string>> body;
  std::map<std::string, int> reasons;  // why rows have no verdict -> how many
  for (const auto& r : c["rows"]) {
    const bool interval = !r["ci_low"].is_null();
    if (r.contains("reason")) ++reasons[r["reason"].get<std::string>()];
    body.push_back(
        {r["report"].get<std::string>(), r["cell"].get<std::string>(),
         r["phase"].get<std::string>(), format_fixed(r["reference_median_us"].get<double>(), 1),
         format_fixed(r["median_us"].get<double>(), 1),
         std::to_string(r["runs"][0].get<int>()) + "/" + std::to_string(r["runs"][1].get<int>()),
         r["ratio"].is_null() ? "-" : format_fixed(r["ratio"].get<double>(), 3),
         interval ? "[" + bound_text(r["ci_low"]) + ", " + bound_text(r["ci_high"]) + "]" : "-",
         r["verdict"].get<std::string>() + (r.contains("bootstrap_samples") ? " (capped)" : "")});
  }
  const std::vector<std::string> header = {"report", "cell",  "phase",    "reference us", "us",
                                           "runs",   "ratio", "interval", "verdict"};
  if (markdown) {
    out << "|";
    for (const auto& h : header) out << " " << h << " |";
    out << "\n|";
    for (size_t i = 0; i < header.size(); ++i)
      out << (i < 3 || i == 7 || i == 8 ? "---|" : "---:|");
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
                 {"runs", "ref/this"},
                 {"ratio", "x"},
                 {"interval", "x", true},
                 {"verdict", "", true}});
    for (auto& row : body) table.add_row(row);
    table.print(out);
  }
  for (const auto& [reason, rows] : reasons) {
    out << note << "n/a (" << rows << " row(s)): " << reason << "\n";
  }
  if (c.value("capped_rows", 0) > 0) {
    const std::string cap = std::to_string(c["max_bootstrap_samples"].get<size_t>());
    out << note << "capped (" << c["capped_rows"].get<int>() << " row(s)): more than " << cap
        << " samples on a side; the interval resamples " << cap
        << " of them, evenly spaced in sample order (the medians and the ratio use every sample; "
           "the interval is somewhat wider than every sample would give)\n";
  }
  for (const auto& u : c["unmatched"]) out << note << "unmatched: " << u.get<std::string>() << "\n";
  if (c["threshold"].get<double>() >= 0) {
    out << note << c["regressions"].get<int>() << " significant regression(s) beyond "
        << format_fixed(c["threshold"].get<double>() * 100, 1) << "%\n";
  }
}

}  // namespace c2r
