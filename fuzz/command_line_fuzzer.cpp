// NAME     command_line_fuzzer
// PURPOSE  The command line from arbitrary bytes: argv (NUL-separated arguments) parsed by
//          c2rbench's parser with every option check, then the validation each subcommand does
//          before it runs (run's grid for a 2-rank job, --sweep, --inject-fault, --max-memory,
//          compare's sides and --threshold). The contract: an input is accepted, or refused as
//          bad input (exit status 2 with a message, or c2r::Error); never another exception, a
//          crash or a sanitizer report.
// USAGE    scripts/fuzz.sh, or build-fuzz/fuzz/fuzz_command_line CORPUS_DIR [libFuzzer flags]

#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "cli/command_line.hpp"
#include "cli/commands.hpp"
#include "cli/options.hpp"
#include "common/error.hpp"

namespace {

constexpr size_t kMaxArguments = 64;

// "run\0--iters\05" -> {"c2rbench", "run", "--iters", "5"}.
std::vector<std::string> arguments_from(const uint8_t* data, size_t size) {
  std::vector<std::string> args = {"c2rbench"};
  std::string current;
  for (size_t i = 0; i < size && args.size() < kMaxArguments; ++i) {
    if (data[i] == 0) {
      args.push_back(current);
      current.clear();
    } else {
      current.push_back(static_cast<char>(data[i]));
    }
  }
  if (!current.empty() && args.size() < kMaxArguments) args.push_back(current);
  return args;
}

// What each subcommand validates before it touches MPI, files or memory.
void validate(const c2r::CommandLine& c, const std::string& command) {
  constexpr int kRanks = 2;
  if (command == "run") {
    if (!c.run.inject_fault.empty()) c2r::parse_fault(c.run.inject_fault, kRanks);
    if (!c.run.sweep.empty()) c2r::parse_token_sweep(c.run.sweep);
    if (!c.run.max_memory.empty()) c2r::parse_memory_size(c.run.max_memory);
    c2r::resolve_run_config(c.run, kRanks);
  } else if (command == "tune") {
    c2r::resolve_process(c.tune.process);
    c2r::resolve_workload(c.tune.workload);
  } else if (command == "compare") {
    c2r::parse_threshold(c.compare.threshold);
    for (const auto& side : c.compare.files) c2r::split_side(side);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::vector<std::string> args = arguments_from(data, size);
  std::vector<const char*> argv;
  for (const auto& a : args) argv.push_back(a.c_str());
  CLI::App app{"c2rbench"};
  app.require_subcommand(1);
  c2r::CommandLine command_line;
  const std::vector<c2r::Subcommand> subcommands = c2r::add_subcommands(app, command_line);
  const c2r::ParseOutcome parsed =
      c2r::parse_command_line(app, subcommands, static_cast<int>(argv.size()), argv.data());
  if (!parsed.command) {
    if (parsed.status != 0 && (parsed.status != 2 || parsed.message.empty())) {
      std::fprintf(stderr, "a refusal must be status 2 with a message (got %d)\n", parsed.status);
      std::abort();
    }
    return 0;
  }
  try {
    validate(command_line, parsed.command->app->get_name());
  } catch (const c2r::Error&) {
    // Bad input, refused with a message.
  }
  return 0;
}
