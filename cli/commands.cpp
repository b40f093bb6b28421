#include "cli/commands.hpp"

#include <cmath>
#include <iostream>
#include <optional>
#include <sstream>

#include "bench/memory_estimate.hpp"
#include "cli/tune_command.hpp"
#include "collectives/backend.hpp"
#include "common/error.hpp"
#include "common/every_rank.hpp"
#include "common/file_io.hpp"
#include "results/csv.hpp"
#include "results/html_report.hpp"
#include "results/report.hpp"
#include "results/table.hpp"

namespace c2r {

namespace {

// Runs `body`, turning its errors into errors raised on every rank: every rank reads the same
// files, so what one rank finds wrong, every rank finds.
template <typename Body>
void on_every_rank_alike(Body body) {
  try {
    body();
  } catch (const Error& e) {
    if (e.raised_on_all_ranks()) throw;
    throw Error::on_all_ranks(e.what());
  }
}

}  // namespace

int topo_command(const TopoArgs& args, const Communicator& comm) {
  // The probes' buffers, matrices and timings, estimated before any is allocated.
  check_memory_limit(estimate_topology_memory(args.options, comm.size()), args.max_memory,
                     "use a smaller --large-bytes, fewer --repetitions or fewer ranks", comm);
  std::optional<OutputFile> out;  // checked on rank 0, which writes it, before measuring
  on_every_rank(comm, [&] {
    if (comm.rank() == 0 && !args.out.empty()) out = OutputFile::given(args.out, "--out");
  });
  const ClusterProfile profile = measure_cluster(comm, args.options);
  if (comm.rank() == 0) {
    print_cluster_profile(std::cout, profile);
    if (out)
      std::cout << "# cluster profile: " << out->write(profile.to_json().dump(1) + "\n") << "\n";
  }
  return 0;
}

int compare_command(CompareArgs args, const Communicator& comm) {
  nlohmann::json comparison;
  on_every_rank_alike([&] {
    C2R_CHECK(args.options.confidence > 0.0 && args.options.confidence < 1.0,
              "--confidence must be between 0 and 1");
    C2R_CHECK(args.options.resamples >= 100, "--resamples must be at least 100");
    C2R_CHECK(args.format == "table" || args.format == "markdown" || args.format == "json" ||
                  args.format == "csv",
              "unknown --format '" << args.format << "' (known: table, markdown, json, csv)");
    args.options.threshold = parse_threshold(args.threshold);
    std::vector<CompareSide> sides;
    for (const auto& argument : args.files) {
      CompareSide side;
      side.sources = split_side(argument);
      for (const auto& file : side.sources) side.runs.push_back(load_report(file));
      sides.push_back(std::move(side));
    }
    comparison = compare_reports(sides, args.options);
    if (comm.rank() == 0) {
      if (args.format == "csv") {
        write_comparison_csv(std::cout, comparison);
      } else {
        print_comparison(std::cout, comparison, args.format);
      }
    }
  });
  return comparison["regressions"].get<int>() > 0 ? 1 : 0;
}

int report_command(const ReportArgs& args, const Communicator& comm) {
  on_every_rank_alike([&] {
    std::optional<OutputFile> html, csv;  // checked before reading anything
    if (!args.html.empty()) html = OutputFile::given(args.html, "--html");
    if (!args.csv.empty()) csv = OutputFile::given(args.csv, "--csv");
    std::vector<Report> reports;
    for (const auto& file : args.files) reports.push_back(load_report(file));
    if (comm.rank() == 0) {
      for (size_t i = 0; i < reports.size(); ++i) {
        const std::string partial = incomplete_warning(reports[i], args.files[i]);
        if (!partial.empty()) std::cerr << "warning: " << partial << std::endl;
      }
    }
    std::optional<Tuning> tuning;
    if (!args.tuning.empty()) {
      tuning = parse_report_tuning(read_text_file(args.tuning), args.tuning);
    }
    if (comm.rank() != 0) return;
    if (csv) {
      std::ostringstream text;
      write_report_csv(text, reports, args.files);
      std::cout << "# csv: " << csv->write(text.str()) << "\n";
    }
    if (html) {
      std::cout << "# html report: " << html->write(render_html(reports, args.files, tuning))
                << "\n";
    } else if (!csv) {
      for (size_t i = 0; i < reports.size(); ++i) {
        std::cout << "# " << args.files[i] << "\n";
        print_run_table(std::cout, reports[i].config, reports[i].results);
      }
    }
  });
  return 0;
}

int backends_command(const Communicator& comm) {
  if (comm.rank() != 0) return 0;
  for (const auto& b : backends()) {
    std::cout << b.name << "  " << (b.built ? "built    " : "not built") << "  " << b.description
              << "\n";
  }
  return 0;
}

std::vector<std::string> split_side(const std::string& argument) {
  std::vector<std::string> files;
  size_t start = 0;
  while (true) {
    const size_t comma = argument.find(',', start);
    files.push_back(argument.substr(start, comma == std::string::npos ? comma : comma - start));
    C2R_CHECK(!files.back().empty(), "empty report name in '"
                                         << argument
                                         << "' (repeated runs of a side: a1.json,a2.json)");
    if (comma == std::string::npos) return files;
    start = comma + 1;
  }
}

double parse_threshold(const std::string& text) {
  if (text.empty()) return -1.0;
  const bool percent = text.back() == '%';
  const std::string number = percent ? text.substr(0, text.size() - 1) : text;
  double value = -1.0;
  try {
    size_t used = 0;
    value = std::stod(number, &used);
    if (used != number.size()) value = -1.0;
  } catch (const std::exception&) {
    value = -1.0;
  }
  C2R_CHECK(value >= 0.0 && std::isfinite(value),
            "--threshold '" << text << "' is not a non-negative number or percentage");
  return percent ? value / 100.0 : value;
}

}  // namespace c2r
