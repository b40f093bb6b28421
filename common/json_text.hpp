#pragma once
// Parsing JSON text from a named source, with one error message shape for every reader.

#include <string>

#include <nlohmann/json.hpp>

#include "common/error.hpp"

namespace c2r {

// Throws c2r::Error "SOURCE: malformed JSON (...)" on a syntax error, truncated text, or a number
// too large for a double (nlohmann reports that one as out_of_range, not parse_error).
inline nlohmann::json parse_json_text(const std::string& text, const std::string& source) {
  try {
    return nlohmann::json::parse(text);
  } catch (const nlohmann::json::exception& e) {
    throw Error(source + ": malformed JSON (" + e.what() + ")");
  }
}

}  // namespace c2r
