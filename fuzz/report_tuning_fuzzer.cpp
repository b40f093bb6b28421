// NAME     report_tuning_fuzzer
// PURPOSE  parse_report_tuning on arbitrary text (the tuning file `c2rbench report --html
//          --tuning FILE` reads), then the HTML page's predicted-vs-measured scatter of it.
// USAGE    scripts/fuzz.sh, or build-fuzz/fuzz/fuzz_report_tuning CORPUS_DIR [libFuzzer flags]

#include "fuzz/fuzz_reader.hpp"
#include "results/html_report.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text = c2r::fuzz::input_text(data, size);
  c2r::fuzz::refused_by_name([&] {
    const c2r::Tuning tuning = c2r::parse_report_tuning(text, c2r::fuzz::kSource);
    c2r::render_html({}, {}, tuning);
  });
  return 0;
}
