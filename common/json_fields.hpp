#pragma once
// Checked reads of fields for the file readers, so that no input gets past them as a
// nlohmann::json exception or an out-of-range conversion: every problem is one c2r::Error
// "WHERE: "KEY" must be ...", WHERE naming the file (and the entry).

#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/error.hpp"

namespace c2r {

// A JSON integer (8, not 8.0) within [lo, hi], whether nlohmann stored it signed or unsigned.
inline bool is_integer_in(const nlohmann::json& value, int64_t lo, int64_t hi) {
  if (value.is_number_unsigned()) {
    const uint64_t v = value.get<uint64_t>();
    return hi >= 0 && v <= static_cast<uint64_t>(hi) && (lo <= 0 || v >= static_cast<uint64_t>(lo));
  }
  if (!value.is_number_integer()) return false;
  const int64_t v = value.get<int64_t>();
  return v >= lo && v <= hi;
}

inline bool is_int(const nlohmann::json& value) {
  return is_integer_in(value, INT32_MIN, INT32_MAX);
}

// Any JSON number that is finite (the parser turns no text into infinity, but arithmetic may).
inline bool is_finite_number(const nlohmann::json& value) {
  return value.is_number() && std::isfinite(value.get<double>());
}

// object[key] as an int in [lo, hi]; `what` says what it must be ("a positive integer").
inline int int_field(const nlohmann::json& object, const char* key, int lo, int hi,
                     const std::string& where, const char* what) {
  C2R_CHECK(object.is_object() && object.contains(key) && is_integer_in(object[key], lo, hi),
            where << ": \"" << key << "\" must be " << what);
  return object[key].get<int>();
}

// object[key] as a string, `fallback` when absent; any other type is refused.
inline std::string string_field(const nlohmann::json& object, const char* key,
                                const std::string& fallback, const std::string& where) {
  if (!object.is_object() || !object.contains(key)) return fallback;
  C2R_CHECK(object[key].is_string(), where << ": \"" << key << "\" must be a string");
  return object[key].get<std::string>();
}

// Reads for the fields a validated report may still hold in any form (the validation checks only
// the fields its readers type-check; readers ignore what they do not understand): object[key] when
// it is of the wanted kind, else `fallback`.
inline double number_or(const nlohmann::json& object, const char* key, double fallback) {
  if (!object.is_object() || !object.contains(key) || !object[key].is_number()) return fallback;
  return object[key].get<double>();
}

// An integer as int64; a non-integer number is truncated when it fits.
inline int64_t integer_or(const nlohmann::json& value, int64_t fallback) {
  if (is_integer_in(value, INT64_MIN, INT64_MAX)) return value.get<int64_t>();
  if (!value.is_number()) return fallback;
  const double v = value.get<double>();
  return std::isfinite(v) && std::abs(v) < 9.2e18 ? static_cast<int64_t>(v) : fallback;
}
inline int64_t integer_or(const nlohmann::json& object, const char* key, int64_t fallback) {
  if (!object.is_object() || !object.contains(key)) return fallback;
  return integer_or(object[key], fallback);
}

inline bool flag_or(const nlohmann::json& object, const char* key, bool fallback) {
  if (!object.is_object() || !object.contains(key) || !object[key].is_boolean()) return fallback;
  return object[key].get<bool>();
}

inline std::string text_or(const nlohmann::json& object, const char* key,
                           const std::string& fallback) {
  if (!object.is_object() || !object.contains(key) || !object[key].is_string()) return fallback;
  return object[key].get<std::string>();
}

// object[key] as a list, its elements read by `element(json)`; empty when not an array.
template <typename Element>
std::vector<Element> list_or_empty(const nlohmann::json& object, const char* key,
                                   Element (*element)(const nlohmann::json&)) {
  std::vector<Element> out;
  if (!object.is_object() || !object.contains(key) || !object[key].is_array()) return out;
  for (const auto& v : object[key]) out.push_back(element(v));
  return out;
}
inline double number_or_zero(const nlohmann::json& value) {
  return value.is_number() ? value.get<double>() : 0.0;
}
inline int64_t integer_or_zero(const nlohmann::json& value) {
  return integer_or(value, 0);
}

}  // namespace c2r
