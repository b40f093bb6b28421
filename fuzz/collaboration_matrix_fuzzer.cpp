// NAME     collaboration_matrix_fuzzer
// PURPOSE  parse_collaboration_matrix (data/reference/*-vanilla.json, *-c2r-topt*.json) on
//          arbitrary text, then what the trace workload derives from an accepted matrix.
// USAGE    scripts/fuzz.sh, or build-fuzz/fuzz/fuzz_collaboration_matrix CORPUS_DIR [libFuzzer
// flags]

#include "fuzz/fuzz_reader.hpp"
#include "model/reference_data.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text = c2r::fuzz::input_text(data, size);
  c2r::fuzz::refused_by_name([&] {
    const c2r::LayerCollaboration parsed =
        c2r::parse_collaboration_matrix(text, c2r::fuzz::kSource);
    for (const auto& matrix : parsed.layers) {
      const c2r::CollaborativeList list = c2r::collaborative_list_from(matrix);
      if (list.experts > 1) list.top_t(list.experts - 1, list.experts - 1);
    }
  });
  return 0;
}
