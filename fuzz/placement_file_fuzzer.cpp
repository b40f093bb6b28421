// NAME     placement_file_fuzzer
// PURPOSE  parse_placement_file on arbitrary text (placement files and tuning files, which
//          `run --placement FILE` reads), then PlacementFile::for_layer for several runs.
// USAGE    scripts/fuzz.sh, or build-fuzz/fuzz/fuzz_placement_file CORPUS_DIR [libFuzzer flags]

#include <utility>
#include <vector>

#include "fuzz/fuzz_reader.hpp"
#include "model/placement.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text = c2r::fuzz::input_text(data, size);
  c2r::fuzz::refused_by_name([&] {
    const c2r::PlacementFile file = c2r::parse_placement_file(text, c2r::fuzz::kSource);
    // Runs as `run` has them: experts divide over the ranks (checked before any placement).
    std::vector<std::pair<int, int>> runs = {{8, 1}, {8, 2}, {8, 4}, {12, 3}, {60, 4}};
    if (file.experts >= 1 && file.ranks >= 1 && file.experts % file.ranks == 0) {
      runs.emplace_back(file.experts, file.ranks);
    }
    std::vector<int> layers = {0, 1, 23};
    for (const auto& entry : file.per_layer) {
      if (layers.size() < 8) layers.push_back(entry.first);
    }
    for (const auto& run : runs) {
      const int experts = run.first, ranks = run.second;
      for (int layer : layers) {
        for (const char* model : {"", "llama-moe-3.5b"}) {
          c2r::fuzz::refused_by_name([&] { file.for_layer(layer, experts, ranks, model); });
        }
      }
    }
  });
  return 0;
}
