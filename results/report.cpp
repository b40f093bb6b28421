#include "results/report.hpp"

#include "common/error.hpp"
#include "common/file_io.hpp"
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

void write_report(const std::string& path, const json& report) {
  write_file_atomically(path, report.dump(1) + "\n", /*overwrite=*/false);
}

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
  for (const auto& cell : doc["results"]) {
    C2R_CHECK(cell.is_object() && cell.contains("phases") && cell["phases"].is_object(),
              source << ": a result has no \"phases\"");
  }
  return doc;
}

json read_report(const std::string& path) {
  return parse_report(read_text_file(path), path);
}

}  // namespace c2r
