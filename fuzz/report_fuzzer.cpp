// NAME     report_fuzzer
// PURPOSE  parse_report on arbitrary text, then what `c2rbench compare` and `c2rbench report` run
//          on an accepted report: compare_reports (the report against itself) and its printed
//          forms, the run table, and the HTML page.
// USAGE    scripts/fuzz.sh, or build-fuzz/fuzz/fuzz_report CORPUS_DIR [libFuzzer flags]

#include <sstream>

#include "fuzz/fuzz_reader.hpp"
#include "results/compare.hpp"
#include "results/html_report.hpp"
#include "results/report.hpp"
#include "results/table.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text = c2r::fuzz::input_text(data, size);
  c2r::fuzz::refused_by_name([&] {
    const c2r::Report report =
        c2r::report_from_json(c2r::parse_report(text, c2r::fuzz::kSource), c2r::fuzz::kSource);
    const std::string source = c2r::fuzz::kSource;
    c2r::CompareOptions options;
    options.resamples = 100;  // the least compare accepts: the bootstrap is not under test
    options.threshold = 0.05;
    const nlohmann::json comparison =
        c2r::compare_reports({report, report}, {source, source}, options);
    std::ostringstream out;
    for (const char* format : {"table", "markdown", "json"}) {
      c2r::print_comparison(out, comparison, format);
    }
    c2r::print_run_table(out, report.config, report.results);
    out << c2r::render_html({report}, {source}, std::nullopt);
  });
  return 0;
}
