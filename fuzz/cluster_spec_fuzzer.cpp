// NAME     cluster_spec_fuzzer
// PURPOSE  parse_cluster_spec (described clusters, examples/clusters/*.json, read by
//          `tune --cluster`) on arbitrary text, and the cluster model echoed into the tuning file.
// USAGE    scripts/fuzz.sh, or build-fuzz/fuzz/fuzz_cluster_spec CORPUS_DIR [libFuzzer flags]

#include "fuzz/fuzz_reader.hpp"
#include "tuner/cluster_model.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text = c2r::fuzz::input_text(data, size);
  c2r::fuzz::refused_by_name([&] {
    if (!c2r::is_cluster_spec(text)) return;  // tune reads those as measured profiles
    const c2r::ClusterModel model = c2r::parse_cluster_spec(text, c2r::fuzz::kSource);
    model.to_json().dump();
  });
  // The schema test alone must not throw, whatever the text.
  c2r::is_cluster_spec(text);
  return 0;
}
