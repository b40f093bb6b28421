#pragma once
// The command line of c2rbench: every subcommand, its options (with the input policy of
// cli/option_checks.hpp) and what it runs. Parsing touches no MPI and reads no file but those of
// --config and --config-from, so every rank parses alike (cli/cli.cpp has the ranks agree on the
// outcome) and the option-parsing fuzz target (fuzz/command_line_fuzzer.cpp) runs it as is.

#include <functional>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "cli/commands.hpp"
#include "cli/config_files.hpp"
#include "cli/run_command.hpp"
#include "cli/tune_command.hpp"
#include "common/communicator.hpp"
#include "common/watchdog.hpp"

namespace c2r {

// A subcommand: its parser, what a stop by the watchdog means for it (empty: not watched, no
// --timeout), and what it does once parsed, returning the exit status.
struct Subcommand {
  CLI::App* app = nullptr;
  std::string stall_cause;  // e.g. "a rank has died or stalled"
  std::function<int(const Communicator&)> run;
  // run and tune: options also come from files (--config, --config-from), and every option's
  // effective value is recorded in `effective` for the output file. Null for the others.
  ConfigSources* config = nullptr;
  nlohmann::json* effective = nullptr;
};

// Every option of every subcommand, filled by the parser; outlives the parse.
struct CommandLine {
  RunOptions run;
  TuneOptions tune;
  TopoArgs topo;
  CompareArgs compare;
  ReportArgs report;
  ConfigSources run_config, tune_config;
  double timeout = kDefaultTimeoutSeconds;  // every subcommand but `backends` is watched
  std::vector<std::string> argv;
};

// Adds every subcommand to `app`, its options writing into `c`; one row each, in --help's order.
std::vector<Subcommand> add_subcommands(CLI::App& app, CommandLine& c);

// What parsing decided: run a subcommand, or exit now with `status` after printing `message`
// (help text on stdout for status 0, one error line on stderr for status 2).
struct ParseOutcome {
  const Subcommand* command = nullptr;  // null: exit with `status`
  int status = 0;
  std::string message;
};

// Parses argv: every argument must be valid UTF-8 (it may reach the report), every option must
// pass its checks; then run's and tune's --config and --config-from fill the options still unset
// (the one place parsing reads files). Any refusal is status 2; --help is status 0.
ParseOutcome parse_command_line(CLI::App& app, const std::vector<Subcommand>& subcommands, int argc,
                                const char* const* argv);

}  // namespace c2r
