#pragma once
// The subcommands that do not benchmark: `topo` (where ranks run, what links cost), `compare` and
// `report` (read reports), `backends` (what was built). Each returns the process exit status and
// throws c2r::Error (raised on all ranks for bad input).

#include <string>
#include <vector>

#include "common/communicator.hpp"
#include "results/compare.hpp"
#include "tuner/topology.hpp"

namespace c2r {

struct TopoArgs {
  TopologyOptions options;
  std::string out;         // the cluster profile file; empty: print only
  std::string max_memory;  // per-rank limit ("2GiB"); empty: this node's memory / its ranks
};
// Collective: measures this job's ranks, prints the profile on rank 0 and saves it to `out`.
int topo_command(const TopoArgs& args, const Communicator& comm);

struct CompareArgs {
  // One argument per side, the first the reference; an argument is one report or a
  // comma-separated list of reports that are repeated runs of that side ("a1.json,a2.json").
  std::vector<std::string> files;
  std::string threshold;  // "5%" or "0.05"; empty: no regression threshold
  std::string format = "table";
  CompareOptions options;
};
// Every rank reads and compares the same files (deterministic errors); rank 0 prints. Exit 1 when
// a phase regressed past the threshold.
int compare_command(CompareArgs args, const Communicator& comm);

struct ReportArgs {
  std::vector<std::string> files;
  std::string html;    // write one HTML page here; empty: print the run tables
  std::string tuning;  // a tuning file whose validation the page plots
  std::string csv;     // write the reports as CSV here (results/csv.hpp)
};
int report_command(const ReportArgs& args, const Communicator& comm);

// Rank 0 lists every backend and whether it was built.
int backends_command(const Communicator& comm);

// "a1.json,a2.json" -> {"a1.json", "a2.json"}. Throws c2r::Error on an empty name ("a.json,").
std::vector<std::string> split_side(const std::string& argument);

// "5%" or "0.05" -> 0.05; "" -> -1 (no threshold). Throws c2r::Error naming --threshold.
double parse_threshold(const std::string& text);

}  // namespace c2r
