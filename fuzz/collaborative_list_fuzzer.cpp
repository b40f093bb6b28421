// NAME     collaborative_list_fuzzer
// PURPOSE  parse_collaborative_list (data/reference/*-collaborative-list.json) on arbitrary text,
//          then C2R's Top-T lookups on an accepted list.
// USAGE    scripts/fuzz.sh, or build-fuzz/fuzz/fuzz_collaborative_list CORPUS_DIR [libFuzzer flags]

#include "fuzz/fuzz_reader.hpp"
#include "model/reference_data.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text = c2r::fuzz::input_text(data, size);
  c2r::fuzz::refused_by_name([&] {
    const c2r::LayerCollaborativeLists parsed =
        c2r::parse_collaborative_list(text, c2r::fuzz::kSource);
    for (const auto& list : parsed.layers) {
      for (int expert : {0, list.experts - 1}) {
        for (int top_t = 1; top_t < list.experts; top_t *= 2) list.top_t(expert, top_t);
      }
    }
  });
  return 0;
}
