// NAME     c2rbench - benchmark and autotune expert parallelism of MoE layers under MPI
// PURPOSE  Times every phase of an MoE layer (gate, permute, dispatch, expert, combine, unpermute)
//          under vanilla and C2R routing with padded, dropless and dedup exchanges, checks the
//          output against a serial reference and writes a versioned JSON report.
// USAGE    mpirun -np R c2rbench run [options]      (see README.md and `c2rbench run --help`)
//          mpirun -np R c2rbench tune [options]     (autotune placement, Top-T, capacity factor)
//          mpirun -np R c2rbench topo [--out FILE]  (topology and measured link costs)
//          c2rbench compare A.json B.json [...]    (per-phase ratios with bootstrap intervals;
//                   a side may be repeated runs: a1.json,a2.json,a3.json b1.json,b2.json,b3.json)
// NOTES    Every rank must get the same arguments. Errors are printed once and stop every rank.
//          Exit status (docs/RELIABILITY.md): 0 success, 1 a failed --check or a compare
//          regression, 2 bad input, 3 an error during the run, 4 the watchdog, 128+N signal N.

#include <fcntl.h>
#include <mpi.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "cli/cli.hpp"
#include "cli/command_line.hpp"
#include "common/communicator.hpp"
#include "common/error.hpp"
#include "common/stop_signals.hpp"
#include "common/watchdog.hpp"

namespace {

constexpr int kBadInput = 2;
constexpr int kRunError = 3;

// Rank 0 has printed tables to stdout: a closed pipe or a full disk must not end in exit 0.
// Returns the problem, or "" when everything written reached the file.
std::string standard_output_problem() {
  errno = 0;
  std::cout.flush();
  const bool flushed = std::fflush(stdout) == 0;
  if (flushed && !std::cout.fail() && !std::ferror(stdout)) return {};
  return std::string("cannot write to standard output") +
         (errno ? std::string(": ") + std::strerror(errno) : std::string());
}

// Runs the parsed subcommand; one error message, every rank stopped: exit 2 for bad input (raised
// on every rank), MPI_Abort with 3 for an error on some ranks only.
int run_subcommand(const c2r::Subcommand& command, const c2r::CommandLine& c, int rank) {
  // Outlives MPI_Finalize below (which also waits on every rank).
  const c2r::Watchdog watchdog(command.stall_cause.empty() ? 0.0 : c.timeout, rank, "--timeout",
                               command.stall_cause);
  c2r::set_activity(command.app->get_name());
  int status = 0;
  try {
    const c2r::Communicator comm(MPI_COMM_WORLD);
    status = command.run(comm);
  } catch (const c2r::Error& e) {
    if (e.raised_on_all_ranks()) {
      if (rank == 0) std::cerr << "c2rbench: error: " << e.what() << std::endl;
      c2r::finishing_with(kBadInput);
      MPI_Finalize();
      return kBadInput;
    }
    std::cerr << "c2rbench: error on rank " << rank << ": " << e.what() << std::endl;
    MPI_Abort(MPI_COMM_WORLD, kRunError);
  } catch (const std::exception& e) {
    std::cerr << "c2rbench: internal error on rank " << rank << ": " << e.what() << std::endl;
    MPI_Abort(MPI_COMM_WORLD, kRunError);
  }
  const std::string output = standard_output_problem();
  c2r::finishing_with(output.empty() ? status : kRunError);
  MPI_Finalize();
  if (!output.empty()) {
    std::cerr << "c2rbench: error on rank " << rank << ": " << output << std::endl;
    return kRunError;
  }
  return status;
}

}  // namespace

int c2r::cli_main(int argc, char** argv) {
  // A closed stdout or stderr would be reused by the next file opened (a report written into what
  // the tables are printed to); refuse before anything opens a file.
  if (fcntl(STDOUT_FILENO, F_GETFD) == -1 || fcntl(STDERR_FILENO, F_GETFD) == -1) {
    const char message[] = "c2rbench: error: standard output or standard error is closed\n";
    if (fcntl(STDERR_FILENO, F_GETFD) != -1)
      (void)!write(STDERR_FILENO, message, sizeof message - 1);
    return kBadInput;
  }
  MPI_Init(&argc, &argv);
  int rank = 0;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  // Errors are reported through c2r::Error, not MPI's default abort-on-error.
  MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
  install_stop_handlers(rank);

  CLI::App app{
      "c2rbench: benchmark and autotune expert parallelism of MoE layers (run under mpirun)"};
  app.require_subcommand(1);
  CommandLine command_line;
  command_line.argv.assign(argv, argv + argc);
  const std::vector<Subcommand> subcommands = add_subcommands(app, command_line);
  // Every rank parses its own arguments and config files; the ranks then agree, so that a file one
  // rank cannot read, or arguments that differ between ranks, stop all of them together: the
  // first rank that refused speaks, everyone exits the same way.
  const ParseOutcome parsed = parse_command_line(app, subcommands, argc, argv);
  int ranks = 1;
  MPI_Comm_size(MPI_COMM_WORLD, &ranks);
  const bool refused_here = !parsed.command && parsed.status != 0;
  // Minima over ranks: {the first rank that refused (or `ranks`), whether every rank has a
  // command to run, whether no rank has (--help everywhere)}.
  const int mine[3] = {refused_here ? rank : ranks, parsed.command ? 1 : 0, parsed.command ? 0 : 1};
  int agreed[3] = {ranks, 0, 0};
  MPI_Allreduce(mine, agreed, 3, MPI_INT, MPI_MIN, MPI_COMM_WORLD);
  if (agreed[0] == ranks && agreed[1] == 1)
    return run_subcommand(*parsed.command, command_line, rank);
  int status = kBadInput;
  if (agreed[0] < ranks) {
    if (rank == agreed[0]) std::cerr << "c2rbench: error: " << parsed.message << std::endl;
  } else if (agreed[2] == 1) {  // --help
    if (rank == 0) std::cout << parsed.message << std::flush;
    status = 0;
  } else if (rank == 0) {
    std::cerr << "c2rbench: error: the ranks were given different commands (every rank must get "
                 "the same arguments)"
              << std::endl;
  }
  c2r::finishing_with(status);
  MPI_Finalize();
  return status;
}
