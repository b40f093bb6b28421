// NAME     routing_trace_fuzzer
// PURPOSE  parse_routing_trace (users' routing traces, `run --trace`) and parse_npy (the .npy
// arrays
//          a trace names) on arbitrary bytes, then the rows a run takes from an accepted trace.
// USAGE    scripts/fuzz.sh, or build-fuzz/fuzz/fuzz_routing_trace CORPUS_DIR [libFuzzer flags]
// NOTES    One input holds both files: the trace's JSON text, then, from the first "\x93NUMPY"
//          on, the bytes every .npy file it names reads as (none: no .npy file exists). An input
//          that starts with "\x93NUMPY" is an .npy file named by a fixed trace (layer 0, 8
//          experts, top-2), so mutations of the array alone reach the trace's checks.

#include "fuzz/fuzz_reader.hpp"
#include "model/npy.hpp"
#include "model/routing_trace.hpp"

namespace {

// Names of the .npy file: refusals must name the input (fuzz-input.json) through it.
constexpr const char* kNpyName = "fuzz-input.json.npy";

void read_accepted(const c2r::RoutingTrace& trace) {
  for (const c2r::TraceLayer& layer : trace.layers) {
    const std::vector<int32_t> rows = layer.rows_for(layer.tokens - 1, 3, trace.top_k);
    for (int32_t e : rows) {
      if (e < 0 || e >= trace.experts) std::abort();  // the parser let an invalid id through
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string input = c2r::fuzz::input_text(data, size);
  const std::string magic("\x93NUMPY", 6);
  const size_t split = input.find(magic);
  std::string text = input.substr(0, split);
  const std::string npy = split == std::string::npos ? std::string() : input.substr(split);
  if (split == 0) {
    text = std::string("{\"schema\": \"c2rbench.trace\", \"schema_version\": 1, \"experts\": 8, ") +
           "\"top_k\": 2, \"layers\": [{\"layer\": 0, \"expert_ids_npy\": \"" + kNpyName + "\"}]}";
    c2r::fuzz::refused_by_name([&] { c2r::parse_npy(npy, kNpyName); });
  }
  const c2r::TraceFileReader read_file = [&](const std::string& path) {
    if (npy.empty()) throw c2r::Error("file not found: " + path);
    return npy;
  };
  c2r::fuzz::refused_by_name(
      [&] { read_accepted(c2r::parse_routing_trace(text, c2r::fuzz::kSource, read_file)); });
  return 0;
}
