#include "results/report.hpp"

#include <algorithm>

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
  return doc;
}

Report report_from_json(const json& doc, const std::string& source) {
  Report report;
  report.context = doc.at("context");
  report.config = doc.at("config");
  const json& results = doc.at("results");
  for (size_t i = 0; i < results.size(); ++i) {
    report.results.push_back(
        cell_result_from_json(results[i], source + ": results[" + std::to_string(i) + "]"));
  }
  if (doc.contains("summary") && doc["summary"].is_array()) {
    report.summary.emplace();
    for (const json& row : doc["summary"]) {
      LayerSummary s;
      s.routing = text_or(row, "routing", "?");
      if (row.contains("top_t") && is_int(row["top_t"])) s.top_t = row["top_t"].get<int>();
      s.strategy = text_or(row, "strategy", "?");
      s.placement = text_or(row, "placement", "?");
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

bool is_text(const json& v) {
  return v.is_string();
}
bool is_flag(const json& v) {
  return v.is_boolean();
}
bool is_number(const json& v) {
  return is_finite_number(v);
}
bool is_count(const json& v) {
  return is_integer_in(v, INT64_MIN, INT64_MAX);
}
bool is_int_or_null(const json& v) {
  return v.is_null() || is_int(v);
}
bool is_numbers(const json& v) {
  return v.is_array() && std::all_of(v.begin(), v.end(), is_finite_number);
}
bool is_ints(const json& v) {
  return v.is_array() && std::all_of(v.begin(), v.end(), is_int);
}
// R x R, row-major rows of numbers.
bool is_square_matrix(const json& v) {
  return v.is_array() && std::all_of(v.begin(), v.end(), [&](const json& row) {
           return is_numbers(row) && row.size() == v.size();
         });
}

// The fields the readers of reports (compare, the run table, the HTML page) use, with the type
// they read them as. Absent fields are allowed (e.g. a peer's report has no traffic or load); a
// present field of another type is refused, naming the file and the field.
struct FieldSpec {
  const char* key;
  Check check;
  const char* what;
};
constexpr FieldSpec kModelFields[] = {
    {"preset", is_text, "a string"}, {"experts", is_int, "an integer"},
    {"top_k", is_int, "an integer"}, {"hidden", is_int, "an integer"},
    {"ffn", is_int, "an integer"},   {"shared_ffn", is_int, "an integer"}};
constexpr FieldSpec kConfigFields[] = {{"ranks", is_number, "a number"},
                                       {"tokens_per_rank", is_number, "a number"},
                                       {"backend", is_text, "a string"}};
constexpr FieldSpec kCellFields[] = {{"routing", is_text, "a string"},
                                     {"top_t", is_int_or_null, "an integer or null"},
                                     {"strategy", is_text, "a string"},
                                     {"placement", is_text, "a string"},
                                     {"layer", is_int, "an integer"},
                                     {"baseline", is_flag, "true or false"},
                                     {"tokens_per_rank", is_number, "a number"},
                                     {"ranks", is_number, "a number"},
                                     {"speedup_vs_baseline", is_number, "a number"},
                                     {"expert_rank", is_ints, "an array of integers"},
                                     {"round_positions", is_ints, "an array of integers"}};
constexpr FieldSpec kPhaseFields[] = {{"median_us", is_number, "a number"},
                                      {"samples_us", is_numbers, "an array of numbers"}};
constexpr FieldSpec kTrafficFields[] = {
    {"remote_bytes_total", is_number, "a number"},
    {"copies_per_token", is_number, "a number"},
    {"dispatch_bytes", is_square_matrix, "a square matrix of numbers"}};
constexpr FieldSpec kLoadFields[] = {{"rank_imbalance", is_number, "a number"},
                                     {"dropped_fraction", is_number, "a number"},
                                     {"coactivation", is_numbers, "an array of numbers"},
                                     {"tokens_per_expert", is_numbers, "an array of numbers"},
                                     {"tokens_per_rank", is_numbers, "an array of numbers"}};
constexpr FieldSpec kEfficiencyFields[] = {{"expert", is_number, "a number"},
                                           {"dispatch", is_number, "a number"},
                                           {"combine", is_number, "a number"}};
constexpr FieldSpec kCheckFields[] = {{"checked", is_flag, "true or false"},
                                      {"wrong_rows", is_count, "an integer"}};

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

void check_report_fields(const json& doc, const std::string& source) {
  const json& config = doc["config"];
  check_fields(config, kConfigFields, source + ": config");
  check_section(config, "model", kModelFields, source + ": config");
  if (config.contains("workload")) {
    C2R_CHECK(config["workload"].is_object() && is_text(config["workload"].value("kind", json(""))),
              source << ": config.workload must be an object with a string \"kind\"");
  }
  const json& results = doc["results"];
  for (size_t i = 0; i < results.size(); ++i) {
    const std::string where = source + ": results[" + std::to_string(i) + "]";
    const json& cell = results[i];
    C2R_CHECK(cell.is_object() && cell.contains("phases") && cell["phases"].is_object(),
              source << ": a result has no \"phases\"");
    for (const auto& [name, phase] : cell["phases"].items()) {
      C2R_CHECK(phase.is_object(), where << ".phases." << name << " must be an object");
      check_fields(phase, kPhaseFields, where + ".phases." + name);
    }
    check_fields(cell, kCellFields, where);
    check_section(cell, "traffic", kTrafficFields, where);
    check_section(cell, "load", kLoadFields, where);
    check_section(cell, "efficiency", kEfficiencyFields, where);
    check_section(cell, "check", kCheckFields, where);
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
