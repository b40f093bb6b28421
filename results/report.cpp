#include "results/report.hpp"

#include <algorithm>
#include <map>

#include "common/error.hpp"
#include "common/file_io.hpp"
#include "common/json_fields.hpp"
#include "common/json_text.hpp"

namespace c2r {

using nlohmann::json;

json make_report(json context, json config, json results) {
  return {{"schema", kReportSchema},
          {"schema_version", kReportSchemaVersion},
          {"context", std::move(context)},
          {"config", std::move(config)},
          {"results", std::move(results)}};
}

json to_json(const LayerSummary& row) {
  return {{"routing", row.routing},
          {"top_t", row.top_t ? json(*row.top_t) : json(nullptr)},
          {"strategy", row.strategy},
          {"placement", row.placement},
          {"dtype", row.dtype},
          {"overlap", row.overlap},
          {"layers", row.layers},
          {"remote_bytes_ratio", row.remote_bytes_ratio},
          {"dispatch_combine_time_ratio", row.dispatch_combine_time_ratio},
          {"layer_time_ratio", row.layer_time_ratio},
          {"rank_imbalance", row.rank_imbalance}};
}

json to_json(const Report& report) {
  json results = json::array();
  for (const CellResult& cell : report.results) results.push_back(to_json(cell));
  json doc = make_report(report.context, report.config, std::move(results));
  if (report.summary) {
    doc["summary"] = json::array();
    for (const LayerSummary& row : *report.summary) doc["summary"].push_back(to_json(row));
  }
  if (report.incomplete) {
    doc["incomplete"] = {{"finished_cells", report.incomplete->finished_cells},
                         {"planned_cells", report.incomplete->planned_cells}};
  }
  return doc;
}

std::string incomplete_warning(const Report& report, const std::string& source) {
  if (!report.incomplete) return "";
  return source + " holds partial results: " + std::to_string(report.incomplete->finished_cells) +
         " of " + std::to_string(report.incomplete->planned_cells) +
         " cells (the run did not finish)";
}

Report report_from_json(const json& doc, const std::string& source) {
  Report report;
  report.context = doc.at("context");
  report.config = doc.at("config");
  if (doc.contains("incomplete") && doc["incomplete"].is_object()) {
    report.incomplete = IncompleteRun{
        static_cast<int>(integer_or(doc["incomplete"].value("finished_cells", json(0)), 0)),
        static_cast<int>(integer_or(doc["incomplete"].value("planned_cells", json(0)), 0))};
  }
  const json& results = doc.at("results");
  // Every reader matches cells by cell_key (compare across reports, the baselines, the layer
  // summary): a second cell of one key would be silently left out of one and counted in another.
  std::map<std::string, size_t> first_of_key;
  for (size_t i = 0; i < results.size(); ++i) {
    const std::string where = source + ": results[" + std::to_string(i) + "]";
    report.results.push_back(cell_result_from_json(results[i], where));
    const std::string key = cell_key(report.results.back());
    const auto [first, added] = first_of_key.emplace(key, i);
    C2R_CHECK(added, where << " is the same cell as results[" << first->second << "] (" << key
                           << "): a report holds each cell once");
  }
  if (doc.contains("summary") && doc["summary"].is_array()) {
    report.summary.emplace();
    for (const json& row : doc["summary"]) {
      LayerSummary s;
      s.routing = text_or(row, "routing", "?");
      if (row.contains("top_t") && is_int(row["top_t"])) s.top_t = row["top_t"].get<int>();
      s.strategy = text_or(row, "strategy", "?");
      s.placement = text_or(row, "placement", "?");
      s.dtype = text_or(row, "dtype", "fp32");
      if (row.contains("overlap") && is_int(row["overlap"])) s.overlap = row["overlap"].get<int>();
      s.layers = static_cast<int>(integer_or(row, "layers", 0));
      s.remote_bytes_ratio = number_or(row, "remote_bytes_ratio", 0.0);
      s.dispatch_combine_time_ratio = number_or(row, "dispatch_combine_time_ratio", 0.0);
      s.layer_time_ratio = number_or(row, "layer_time_ratio", 0.0);
      s.rank_imbalance = number_or(row, "rank_imbalance", 0.0);
      report.summary->push_back(s);
    }
  }
  return report;
}

void write_report(const std::string& path, const json& report) {
  write_file_atomically(path, report.dump(1) + "\n", /*overwrite=*/false);
}

namespace {

using Check = bool (*)(const json&);

// Every time, count, size and rate a report holds is at least 0. A time of 0 us is allowed: a
// phase a tool does not time, or one with no work (the PyTorch peer's dispatch and combine on one
// GPU), is written as 0; compare refuses to set such a phase against a timed one.
bool is_non_negative(const json& v) {
  return is_finite_number(v) && v.get<double>() >= 0.0;
}

bool is_text(const json& v) {
  return v.is_string();
}
bool is_flag(const json& v) {
  return v.is_boolean();
}
bool is_time(const json& v) {
  return is_non_negative(v);
}
bool is_time_or_null(const json& v) {
  return v.is_null() || is_non_negative(v);
}
bool is_fraction(const json& v) {
  return is_non_negative(v) && v.get<double>() <= 1.0;
}
bool is_number(const json& v) {
  return is_finite_number(v);
}
bool is_confidence(const json& v) {
  return is_finite_number(v) && v.get<double>() > 0.0 && v.get<double>() < 1.0;
}
bool is_size(const json& v) {
  return is_integer_in(v, 0, INT64_MAX);
}
bool is_index(const json& v) {
  return is_integer_in(v, 0, INT32_MAX);
}
bool is_positive(const json& v) {
  return is_integer_in(v, 1, INT32_MAX);
}
bool is_index_or_null(const json& v) {
  return v.is_null() || is_index(v);
}
bool is_times(const json& v) {
  return v.is_array() && std::all_of(v.begin(), v.end(), is_non_negative);
}
bool is_sizes(const json& v) {
  return v.is_array() && std::all_of(v.begin(), v.end(), is_size);
}
bool is_indexes(const json& v) {
  return v.is_array() && std::all_of(v.begin(), v.end(), is_index);
}
bool is_index_lists(const json& v) {
  return v.is_array() && std::all_of(v.begin(), v.end(), is_indexes);
}
// R x R, row-major rows of byte counts.
bool is_square_matrix(const json& v) {
  return v.is_array() && std::all_of(v.begin(), v.end(), [&](const json& row) {
           return is_sizes(row) && row.size() == v.size();
         });
}

// The fields the readers of reports (compare, the run table, the HTML page) use, with the type
// and range they read them as. Absent fields are allowed (e.g. a peer's report has no traffic or
// load); a present field of another type or out of range is refused, naming the file and the
// field.
struct FieldSpec {
  const char* key;
  Check check;
  const char* what;
};
// The payload types of exchanged rows (kernels/cpu/row_codec.hpp, a layer results does not use:
// reports are read without the kernels).
bool is_payload_type(const json& v) {
  return v.is_string() && (v == "fp32" || v == "bf16" || v == "fp8");
}
constexpr const char* kTimeText = "a non-negative number";
constexpr const char* kSizeText = "a non-negative integer";
constexpr FieldSpec kModelFields[] = {{"preset", is_text, "a string"},
                                      {"experts", is_positive, "a positive integer"},
                                      {"top_k", is_positive, "a positive integer"},
                                      {"hidden", is_positive, "a positive integer"},
                                      {"ffn", is_positive, "a positive integer"},
                                      {"shared_ffn", is_index, kSizeText}};
constexpr FieldSpec kConfigFields[] = {{"ranks", is_positive, "a positive integer"},
                                       {"tokens_per_rank", is_size, kSizeText},
                                       {"backend", is_text, "a string"}};
constexpr FieldSpec kCellFields[] = {
    {"routing", is_text, "a string"},
    {"top_t", is_index_or_null, "a non-negative integer or null"},
    {"strategy", is_text, "a string"},
    {"placement", is_text, "a string"},
    {"dtype", is_payload_type, "fp32, bf16 or fp8"},
    {"overlap", is_positive, "a positive integer"},
    {"layer", is_index, kSizeText},
    {"baseline", is_flag, "true or false"},
    {"in_grid", is_flag, "true or false"},
    {"tokens_per_rank", is_size, kSizeText},
    {"ranks", is_positive, "a positive integer"},
    {"speedup_vs_baseline", is_time, kTimeText},
    {"speedup_vs_eplb", is_time, kTimeText},
    {"expert_gflops", is_time, kTimeText},
    {"trace_match", is_fraction, "a number from 0 to 1"},
    {"top_t_source", is_text, "a string"},
    {"expert_rank", is_indexes, "an array of non-negative integers"},
    {"rank_experts", is_index_lists, "an array of arrays of non-negative integers"},
    {"round_positions", is_indexes, "an array of non-negative integers"}};
constexpr FieldSpec kPhaseFields[] = {{"median_us", is_time, kTimeText},
                                      {"mean_us", is_time, kTimeText},
                                      {"min_us", is_time, kTimeText},
                                      {"max_us", is_time, kTimeText},
                                      {"p10_us", is_time, kTimeText},
                                      {"p90_us", is_time, kTimeText},
                                      {"p99_us", is_time, kTimeText},
                                      {"n", is_size, kSizeText},
                                      {"samples_us", is_times, "an array of non-negative numbers"}};
constexpr FieldSpec kTrafficFields[] = {
    {"dispatch_row_bytes", is_size, kSizeText},
    {"combine_row_bytes", is_size, kSizeText},
    {"dispatch_bytes", is_square_matrix, "a square matrix of non-negative integers"},
    {"combine_bytes", is_square_matrix, "a square matrix of non-negative integers"},
    {"remote_bytes_per_rank", is_sizes, "an array of non-negative integers"},
    {"remote_bytes_total", is_size, kSizeText},
    {"remote_dispatch_bytes", is_size, kSizeText},
    {"remote_combine_bytes", is_size, kSizeText},
    {"copies_per_token", is_time, kTimeText},
    {"remote_copies_per_token", is_time, kTimeText},
    {"dispatch_algbw_GBps", is_time, kTimeText},
    {"dispatch_busbw_GBps", is_time, kTimeText}};
constexpr FieldSpec kLoadFields[] = {
    {"tokens_per_expert", is_sizes, "an array of non-negative integers"},
    {"tokens_per_rank", is_times, "an array of non-negative numbers"},
    {"rows_computed_per_rank", is_sizes, "an array of non-negative integers"},
    {"expert_imbalance", is_time, kTimeText},
    {"rank_imbalance", is_time, kTimeText},
    {"dropped_pairs", is_size, kSizeText},
    {"dropped_fraction", is_fraction, "a number from 0 to 1"},
    {"internal_collaboration", is_fraction, "a number from 0 to 1"},
    {"coactivation", is_times, "an array of non-negative numbers"}};
constexpr FieldSpec kEfficiencyFields[] = {{"expert", is_time, kTimeText},
                                           {"dispatch", is_time, kTimeText},
                                           {"combine", is_time, kTimeText}};
// The efficiency is negative when a layer exposed more than the plain exchange takes.
constexpr FieldSpec kOverlapFields[] = {{"efficiency", is_number, "a finite number"}};
// worst_relative_error is null when an output was not finite (JSON has no NaN or infinity).
constexpr FieldSpec kCheckFields[] = {
    {"checked", is_flag, "true or false"},
    {"worst_relative_error", is_time_or_null, "a non-negative number or null"},
    {"wrong_rows", is_size, kSizeText},
    {"rows", is_size, kSizeText},
    {"tolerance", is_time, kTimeText},
    {"combine_roundoff", is_fraction, "a number from 0 to 1"},
    {"routing_mismatches", is_size, kSizeText}};
// An infinite bound is written as null.
constexpr FieldSpec kIntervalFields[] = {{"low", is_time_or_null, "a non-negative number or null"},
                                         {"high", is_time_or_null, "a non-negative number or null"},
                                         {"confidence", is_confidence, "a number between 0 and 1"},
                                         {"paired", is_flag, "true or false"}};
constexpr FieldSpec kIncompleteFields[] = {{"finished_cells", is_index, kSizeText},
                                           {"planned_cells", is_index, kSizeText}};
constexpr FieldSpec kSearchFields[] = {{"method", is_text, "a string"},
                                       {"candidates", is_time, kTimeText}};
constexpr FieldSpec kSummaryFields[] = {
    {"routing", is_text, "a string"},
    {"top_t", is_index_or_null, "a non-negative integer or null"},
    {"strategy", is_text, "a string"},
    {"placement", is_text, "a string"},
    {"dtype", is_payload_type, "fp32, bf16 or fp8"},
    {"overlap", is_positive, "a positive integer"},
    {"layers", is_index, kSizeText},
    {"remote_bytes_ratio", is_time, kTimeText},
    {"dispatch_combine_time_ratio", is_time, kTimeText},
    {"layer_time_ratio", is_time, kTimeText},
    {"rank_imbalance", is_time, kTimeText}};
constexpr const char* kCeilings[] = {"expert_dense_gemm", "dispatch_alltoallv",
                                     "combine_alltoallv"};

template <size_t N>
void check_fields(const json& object, const FieldSpec (&fields)[N], const std::string& where) {
  for (const FieldSpec& f : fields) {
    C2R_CHECK(!object.contains(f.key) || f.check(object[f.key]),
              where << "." << f.key << " must be " << f.what);
  }
}

// object[key], when present, must be an object whose fields pass `fields`.
template <size_t N>
void check_section(const json& object, const char* key, const FieldSpec (&fields)[N],
                   const std::string& where) {
  if (!object.contains(key)) return;
  C2R_CHECK(object[key].is_object(), where << "." << key << " must be an object");
  check_fields(object[key], fields, where + "." + key);
}

// A stats object (a phase or a ceiling): its fields, and "n" against the samples it summarizes.
void check_stats(const json& stats, const std::string& where) {
  C2R_CHECK(stats.is_object(), where << " must be an object");
  check_fields(stats, kPhaseFields, where);
  if (stats.contains("n") && stats.contains("samples_us") && !stats["samples_us"].empty()) {
    C2R_CHECK(stats["n"].get<int64_t>() == static_cast<int64_t>(stats["samples_us"].size()),
              where << ".n is " << stats["n"].get<int64_t>() << " but samples_us holds "
                    << stats["samples_us"].size() << " samples");
  }
}

// object[key], or an empty array when absent: a reference, since value() would copy a phase's
// samples.
const json& member(const json& object, const char* key) {
  static const json kNone = json::array();
  return object.is_object() && object.contains(key) ? object[key] : kNone;
}

// object[key] (present and checked) has `expected` entries; `per` names what there is one of.
void check_length(const json& object, const char* key, size_t expected, const char* per,
                  const std::string& where) {
  if (!object.is_object() || !object.contains(key) || object[key].empty()) return;
  C2R_CHECK(object[key].size() == expected, where << "." << key << " has " << object[key].size()
                                                  << " entries for " << expected << " " << per);
}

// The counts of one cell that must agree with each other: its ranks (its own, in a report merged
// over rank counts, else the run's) and experts (its placement's, else the model's).
void check_cell_counts(const json& cell, const json& config, const std::string& where) {
  const json& model = member(config, "model");
  const int64_t ranks = cell.contains("ranks")     ? cell["ranks"].get<int64_t>()
                        : config.contains("ranks") ? config["ranks"].get<int64_t>()
                                                   : 0;
  const json& owners = member(cell, "expert_rank");
  const int64_t experts = !owners.empty()             ? static_cast<int64_t>(owners.size())
                          : model.contains("experts") ? model["experts"].get<int64_t>()
                                                      : 0;
  if (!owners.empty() && model.contains("experts")) {
    C2R_CHECK(static_cast<int64_t>(owners.size()) == model["experts"].get<int64_t>(),
              where << ".expert_rank has " << owners.size() << " entries for the model's "
                    << model["experts"].get<int64_t>() << " experts");
  }
  if (ranks > 0) {
    for (const json& owner : owners) {
      C2R_CHECK(owner.get<int64_t>() < ranks, where << ".expert_rank holds rank "
                                                    << owner.get<int64_t>() << " of " << ranks
                                                    << " ranks");
    }
  }
  const json& slots = member(cell, "rank_experts");
  if (ranks > 0) check_length(cell, "rank_experts", static_cast<size_t>(ranks), "ranks", where);
  if (model.contains("experts")) {
    for (const json& rank : slots) {
      for (const json& e : rank) {
        C2R_CHECK(e.get<int64_t>() < model["experts"].get<int64_t>(),
                  where << ".rank_experts holds expert " << e.get<int64_t>() << " of the model's "
                        << model["experts"].get<int64_t>() << " experts");
      }
    }
  }
  const json& traffic = member(cell, "traffic");
  const json& load = member(cell, "load");
  if (ranks > 0) {
    const size_t r = static_cast<size_t>(ranks);
    for (const char* key : {"dispatch_bytes", "combine_bytes", "remote_bytes_per_rank"}) {
      check_length(traffic, key, r, "ranks", where + ".traffic");
    }
    for (const char* key : {"tokens_per_rank", "rows_computed_per_rank"}) {
      check_length(load, key, r, "ranks", where + ".load");
    }
  }
  if (experts > 0) {
    const size_t e = static_cast<size_t>(experts);
    check_length(load, "tokens_per_expert", e, "experts", where + ".load");
    check_length(load, "coactivation", e * e, "experts squared", where + ".load");
  }
  const json& check = member(cell, "check");
  if (check.contains("wrong_rows") && check.contains("rows")) {
    C2R_CHECK(check["wrong_rows"].get<int64_t>() <= check["rows"].get<int64_t>(),
              where << ".check.wrong_rows (" << check["wrong_rows"].get<int64_t>()
                    << ") exceeds check.rows (" << check["rows"].get<int64_t>() << ")");
  }
  // Interleaved runs: one position per timed round, and a round is an iteration of every phase.
  const json& positions = member(cell, "round_positions");
  if (!positions.empty()) {
    for (const auto& [name, phase] : cell["phases"].items()) {
      const json& samples = member(phase, "samples_us");
      C2R_CHECK(samples.empty() || samples.size() == positions.size(),
                where << ".phases." << name << ".samples_us holds " << samples.size()
                      << " samples for " << positions.size() << " round_positions");
    }
  }
}

void check_report_fields(const json& doc, const std::string& source) {
  const json& config = doc["config"];
  check_fields(config, kConfigFields, source + ": config");
  check_section(config, "model", kModelFields, source + ": config");
  if (config.contains("workload")) {
    C2R_CHECK(config["workload"].is_object() && is_text(config["workload"].value("kind", json(""))),
              source << ": config.workload must be an object with a string \"kind\"");
  }
  check_section(doc, "incomplete", kIncompleteFields, source);
  const json& results = doc["results"];
  C2R_CHECK(!results.empty(), source << ": has no results (\"results\" is empty)");
  for (size_t i = 0; i < results.size(); ++i) {
    const std::string where = source + ": results[" + std::to_string(i) + "]";
    const json& cell = results[i];
    C2R_CHECK(cell.is_object() && cell.contains("phases") && cell["phases"].is_object(),
              source << ": a result has no \"phases\"");
    for (const auto& [name, phase] : cell["phases"].items()) {
      check_stats(phase, where + ".phases." + name);
    }
    check_fields(cell, kCellFields, where);
    check_section(cell, "traffic", kTrafficFields, where);
    check_section(cell, "load", kLoadFields, where);
    check_section(cell, "efficiency", kEfficiencyFields, where);
    check_section(cell, "check", kCheckFields, where);
    check_section(cell, "speedup_interval", kIntervalFields, where);
    check_section(cell, "eplb_speedup_interval", kIntervalFields, where);
    check_section(cell, "placement_search", kSearchFields, where);
    check_section(cell, "overlap_metrics", kOverlapFields, where);
    for (const char* stats : {"exposed_communication", "compute"}) {
      const json& metrics = member(cell, "overlap_metrics");
      if (metrics.contains(stats)) {
        check_stats(metrics[stats], where + ".overlap_metrics." + stats);
      }
    }
    if (cell.contains("ceilings")) {
      C2R_CHECK(cell["ceilings"].is_object(), where << ".ceilings must be an object");
      for (const char* ceiling : kCeilings) {
        if (cell["ceilings"].contains(ceiling)) {
          check_stats(cell["ceilings"][ceiling], where + ".ceilings." + ceiling);
        }
      }
    }
    check_cell_counts(cell, config, where);
  }
  if (doc.contains("summary")) {
    C2R_CHECK(doc["summary"].is_array(), source << ": summary must be an array");
    for (size_t i = 0; i < doc["summary"].size(); ++i) {
      const std::string where = source + ": summary[" + std::to_string(i) + "]";
      C2R_CHECK(doc["summary"][i].is_object(), where << " must be an object");
      check_fields(doc["summary"][i], kSummaryFields, where);
    }
  }
}

}  // namespace

json parse_report(const std::string& text, const std::string& source) {
  json doc = parse_json_text(text, source);
  C2R_CHECK(doc.is_object() && doc.contains("schema") && doc["schema"].is_string(),
            source << ": not a c2rbench report (no \"schema\")");
  C2R_CHECK(doc["schema"].get<std::string>() == kReportSchema,
            source << ": schema \"" << doc["schema"].get<std::string>() << "\" is not \""
                   << kReportSchema << "\"");
  C2R_CHECK(doc.contains("schema_version") && doc["schema_version"].is_number_integer(),
            source << ": missing integer \"schema_version\"");
  const int version = doc["schema_version"].get<int>();
  C2R_CHECK(version >= 1 && version <= kReportSchemaVersion,
            source << ": report schema_version " << version
                   << " is newer than this c2rbench reads (" << kReportSchemaVersion
                   << "); upgrade c2rbench");
  for (const char* key : {"context", "config"}) {
    C2R_CHECK(doc.contains(key) && doc[key].is_object(),
              source << ": missing object \"" << key << "\"");
  }
  C2R_CHECK(doc.contains("results") && doc["results"].is_array(),
            source << ": missing array \"results\"");
  check_report_fields(doc, source);
  return doc;
}

json read_report(const std::string& path) {
  return parse_report(read_text_file(path), path);
}

Report load_report(const std::string& path) {
  return report_from_json(read_report(path), path);
}

}  // namespace c2r
