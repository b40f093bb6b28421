#pragma once
// The versioned JSON report: {"schema", "schema_version", "context", "config", "results", ...}.
// See docs/REPORT.md. Readers ignore unknown fields and reject other schemas and newer versions.

#include <string>

#include <nlohmann/json.hpp>

namespace c2r {

constexpr const char* kReportSchema = "c2rbench.report";
constexpr int kReportSchemaVersion = 1;

nlohmann::json make_report(nlohmann::json context, nlohmann::json config, nlohmann::json results);

// Atomic write (temp file + rename); refuses to overwrite an existing file.
void write_report(const std::string& path, const nlohmann::json& report);

// Parses and validates a report; throws c2r::Error naming `source` and the problem.
nlohmann::json parse_report(const std::string& text, const std::string& source);
nlohmann::json read_report(const std::string& path);

}  // namespace c2r
