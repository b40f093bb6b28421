#include "results/csv.hpp"

#include <optional>

#include "results/phase.hpp"

namespace c2r {

using nlohmann::json;

namespace {

// A JSON value as a field: strings as they are, numbers and flags as the report writes them,
// null (or absent) empty.
std::string field_of(const json& value) {
  if (value.is_null()) return "";
  if (value.is_string()) return csv_field(value.get<std::string>());
  return csv_field(value.dump());
}

template <typename T>
std::string field_of(const std::optional<T>& value) {
  return value ? field_of(json(*value)) : "";
}

// object[key], or null when the object lacks it.
const json& member(const json& object, const char* key) {
  static const json kNull;
  return object.is_object() && object.contains(key) ? object[key] : kNull;
}

void write_row(std::ostream& out, const std::vector<std::string>& fields) {
  for (size_t i = 0; i < fields.size(); ++i) out << (i ? "," : "") << fields[i];
  out << "\n";
}

// The efficiency the report gives `phase` (expert; dispatch and combine of the serial layer).
std::optional<double> phase_efficiency(const CellResult& r, Phase phase) {
  if (!r.efficiency) return std::nullopt;
  if (phase == Phase::kExpert) return r.efficiency->expert;
  if (r.overlap != 1) return std::nullopt;
  if (phase == Phase::kDispatch) return r.efficiency->dispatch;
  if (phase == Phase::kCombine) return r.efficiency->combine;
  return std::nullopt;
}

}  // namespace

std::string csv_field(const std::string& text) {
  if (text.find_first_of(",\"\r\n") == std::string::npos) return text;
  std::string quoted = "\"";
  for (char c : text) {
    if (c == '"') quoted += '"';
    quoted += c;
  }
  return quoted + "\"";
}

const std::vector<std::string>& report_csv_columns() {
  static const std::vector<std::string> kColumns = {
      // The run (config): what every cell of the report shares.
      "report", "preset", "experts", "top_k", "hidden", "ffn", "shared_ffn", "workload", "backend",
      "ranks", "tokens_per_rank", "capacity_factor", "replicas", "iterations", "order",
      // The cell.
      "layer", "routing", "top_t", "strategy", "placement", "dtype", "overlap", "baseline",
      "in_grid",
      // The phase: its statistics over iterations (us) and its ceiling's efficiency.
      "phase", "median_us", "mean_us", "min_us", "max_us", "p10_us", "p90_us", "p99_us", "n",
      "efficiency",
      // The cell's figures (the same on each of its phase rows).
      "speedup_vs_baseline", "speedup_low", "speedup_high", "speedup_vs_eplb", "remote_bytes_total",
      "copies_per_token", "remote_copies_per_token", "rank_imbalance", "expert_imbalance",
      "dropped_fraction", "wrong_rows", "worst_relative_error"};
  return kColumns;
}

void write_report_csv(std::ostream& out, const std::vector<Report>& reports,
                      const std::vector<std::string>& sources) {
  std::vector<std::string> header;
  for (const std::string& column : report_csv_columns()) header.push_back(csv_field(column));
  write_row(out, header);
  for (size_t i = 0; i < reports.size(); ++i) {
    const json& config = reports[i].config;
    const json& model = member(config, "model");
    for (const CellResult& r : reports[i].results) {
      // A sweep's or a merged report's cells carry their own size.
      const std::string ranks =
          r.ranks ? field_of(json(*r.ranks)) : field_of(member(config, "ranks"));
      const std::string tokens = r.tokens_per_rank ? field_of(json(*r.tokens_per_rank))
                                                   : field_of(member(config, "tokens_per_rank"));
      std::optional<double> low, high;
      if (r.speedup_interval) {
        low = r.speedup_interval->low;
        high = r.speedup_interval->high;
      }
      std::optional<int64_t> remote;
      std::optional<double> copies, remote_copies, rank_imbalance, expert_imbalance, dropped;
      if (r.traffic) {
        remote = r.traffic->remote_bytes_total;
        copies = r.traffic->copies_per_token;
        remote_copies = r.traffic->remote_copies_per_token;
      }
      if (r.load) {
        rank_imbalance = r.load->rank_imbalance;
        expert_imbalance = r.load->expert_imbalance;
        dropped = r.load->dropped_fraction;
      }
      std::optional<int64_t> wrong;
      std::optional<double> worst;
      if (r.check && r.check->checked) {
        wrong = r.check->wrong_rows;
        worst = r.check->worst_relative_error;
      }
      for (Phase phase : kReportedPhases) {
        const std::optional<PhaseStats>& p = r.phase(phase);
        if (!p) continue;
        const Stats& s = p->stats;
        write_row(out, {csv_field(sources[i]),
                        field_of(member(model, "preset")),
                        field_of(member(model, "experts")),
                        field_of(member(model, "top_k")),
                        field_of(member(model, "hidden")),
                        field_of(member(model, "ffn")),
                        field_of(member(model, "shared_ffn")),
                        field_of(member(member(config, "workload"), "kind")),
                        field_of(member(config, "backend")),
                        ranks,
                        tokens,
                        field_of(member(config, "capacity_factor")),
                        field_of(member(config, "replicas")),
                        field_of(member(config, "iterations")),
                        field_of(member(config, "order")),
                        field_of(r.layer),
                        csv_field(r.routing),
                        field_of(r.top_t),
                        csv_field(r.strategy),
                        csv_field(r.placement),
                        csv_field(r.dtype),
                        field_of(json(r.overlap)),
                        field_of(json(r.baseline)),
                        field_of(json(r.in_grid)),
                        csv_field(phase_name(phase)),
                        field_of(json(s.median)),
                        field_of(json(s.mean)),
                        field_of(json(s.min)),
                        field_of(json(s.max)),
                        field_of(json(s.p10)),
                        field_of(json(s.p90)),
                        field_of(json(s.p99)),
                        field_of(json(s.n)),
                        field_of(phase_efficiency(r, phase)),
                        field_of(r.speedup_vs_baseline),
                        field_of(low),
                        field_of(high),
                        field_of(r.speedup_vs_eplb),
                        field_of(remote),
                        field_of(copies),
                        field_of(remote_copies),
                        field_of(rank_imbalance),
                        field_of(expert_imbalance),
                        field_of(dropped),
                        field_of(wrong),
                        field_of(worst)});
      }
    }
  }
}

void write_comparison_csv(std::ostream& out, const json& comparison) {
  write_row(
      out, {"report", "cell", "phase", "reference_median_us", "median_us", "reference_runs", "runs",
            "reference_samples", "samples", "ratio", "ci_low", "ci_high", "verdict", "reason"});
  for (const json& r : member(comparison, "rows")) {
    // [reference, this side], when the row has both.
    auto side = [&r](const char* key, size_t i) {
      const json& pair = member(r, key);
      return pair.is_array() && pair.size() == 2 ? pair[i] : json();
    };
    write_row(out, {field_of(member(r, "report")), field_of(member(r, "cell")),
                    field_of(member(r, "phase")), field_of(member(r, "reference_median_us")),
                    field_of(member(r, "median_us")), field_of(side("runs", 0)),
                    field_of(side("runs", 1)), field_of(side("samples", 0)),
                    field_of(side("samples", 1)), field_of(member(r, "ratio")),
                    field_of(member(r, "ci_low")), field_of(member(r, "ci_high")),
                    field_of(member(r, "verdict")), field_of(member(r, "reason"))});
  }
}

}  // namespace c2r
