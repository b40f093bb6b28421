#pragma once
// The contract every reader is fuzzed against: any input is accepted, or refused with one
// c2r::Error whose message names the file. Anything else is a finding that libFuzzer stops on and
// saves: another exception (e.g. a nlohmann::json type_error escaping a reader), a crash, a
// sanitizer report, a hang (-timeout) or running out of memory (-rss_limit_mb, -malloc_limit_mb).

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "common/error.hpp"

namespace c2r::fuzz {

// The file name every input is read as; refusals must mention it.
constexpr const char* kSource = "fuzz-input.json";

// Runs `step()` and accepts c2r::Error only when it names the file.
template <typename Step>
void refused_by_name(Step step) {
  try {
    step();
  } catch (const Error& e) {
    if (std::string(e.what()).find(kSource) == std::string::npos) {
      std::fprintf(stderr, "c2r::Error does not name the file: %s\n", e.what());
      std::abort();
    }
  }
}

// The input as the text of a file: readers take (text, source name).
inline std::string input_text(const uint8_t* data, size_t size) {
  return std::string(reinterpret_cast<const char*>(data), size);
}

}  // namespace c2r::fuzz
