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

#include <mpi.h>

#include <functional>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "cli/cli.hpp"
#include "cli/commands.hpp"
#include "cli/run_command.hpp"
#include "cli/tune_command.hpp"
#include "collectives/strategy.hpp"
#include "common/communicator.hpp"
#include "common/error.hpp"
#include "common/watchdog.hpp"
#include "model/model_config.hpp"
#ifdef C2R_HAVE_CUDA_BACKEND
#include "bench/cuda/cuda_layer_suite.hpp"
#endif

namespace {

std::string join(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& item : items) out += (out.empty() ? "" : ", ") + item;
  return out;
}

std::vector<std::string> placement_sensitive_strategies() {
  std::vector<std::string> names;
  for (const auto* s : c2r::strategies()) {
    if (s->rules.placement_sensitive()) names.push_back(s->name);
  }
  return names;
}

// The model and workload flags `run` and `tune` share.
void add_workload_options(CLI::App& app, c2r::WorkloadOptions& o) {
  c2r::ModelOverrides& overrides = o.overrides;
  app.add_option("--preset", o.preset, "Model preset: " + join(c2r::preset_names()))
      ->capture_default_str();
  app.add_option("--experts", overrides.experts, "Override: routed experts per layer (E)");
  app.add_option("--top-k", overrides.top_k, "Override: experts per token (k)");
  app.add_option("--hidden", overrides.hidden, "Override: hidden size (H)");
  app.add_option("--ffn", overrides.ffn, "Override: routed expert FFN width (F)");
  app.add_option("--shared-ffn", overrides.shared_ffn,
                 "Override: shared expert FFN width (0 = no shared expert)");
  app.add_option("--tokens", o.tokens, "Tokens per rank")->capture_default_str();
  app.add_option("--workload", o.kind,
                 "random | clustered | trace (real routing data) | hot (every token routed to "
                 "the --hot-experts first experts)")
      ->capture_default_str();
  app.add_option("--groups", o.groups, "clustered: latent expert groups (0 = experts / top-k)")
      ->capture_default_str();
  app.add_option("--hot-experts", o.hot_experts,
                 "hot: experts 0..N-1 get every token (1: one expert receives all; top-k with "
                 "contiguous placement: rank 0 receives all)")
      ->capture_default_str();
  app.add_option("--cluster-strength", o.cluster_strength,
                 "clustered: logit boost of a token's own group, in router-logit std devs "
                 "(0 = no collaboration)")
      ->capture_default_str();
  app.add_option("--seed", o.seed, "Seed of every random input")->capture_default_str();
  app.add_option("--data-dir", o.data_dir,
                 "Directory holding reference/ routing data (default: the built-in data)");
}

void add_run_options(CLI::App& run, c2r::RunOptions& o) {
  add_workload_options(run, o.workload);
  run.add_option("--rank-tokens", o.rank_tokens,
                 "Uneven load: each rank's token count, a comma list with one per rank (0 allowed; "
                 "replaces --tokens)");
  run.add_option("--layer", o.layer, "Layer(s): a number, a comma list, or 'all' (trace)")
      ->capture_default_str();
  run.add_option("--routing", o.routing, "Routings to run: vanilla, c2r")
      ->delimiter(',')
      ->capture_default_str();
  run.add_option("--top-t", o.top_t,
                 "C2R Top-T values (k-1 <= T <= E-1; default: the preset's, 1 for LLaMA-MoE, 30 "
                 "for Qwen)")
      ->delimiter(',');
  run.add_option("--strategy", o.strategy,
                 "Exchange strategies, a comma list of:\n" + c2r::strategy_help())
      ->delimiter(',')
      ->capture_default_str();
  run.add_option("--placement", o.placement,
                 "Placements: contiguous, round-robin, collab, or a placement JSON file")
      ->delimiter(',')
      ->capture_default_str();
  run.add_option("--capacity-factor", o.capacity_factor,
                 "padded: capacity = ceil(cf * tokens * k / E) slots per (rank, expert)")
      ->capture_default_str();
  run.add_option("--warmup", o.warmup, "Warm-up iterations per cell (not timed)")
      ->capture_default_str();
  run.add_option("--iters", o.iters, "Timed iterations per cell")->capture_default_str();
  run.add_option("--order", o.order,
                 "interleaved: each round runs every cell once, in a seeded shuffled order (drift "
                 "lands on all cells alike; ratios paired by round); sequential: one cell's "
                 "iterations after another's")
      ->capture_default_str();
  run.add_flag("--check", o.check,
               "Compare every cell's output with the serial reference; exit 1 on a wrong row");
  run.add_option("--tolerance", o.tolerance, "--check: largest relative L2 error of a row")
      ->capture_default_str();
  run.add_option("--out", o.process.out,
                 "Report path (default: results/c2rbench-<timestamp>.json); never overwritten");
  run.add_option("--backend", o.process.backend, "cpu | cuda")->capture_default_str();
  run.add_option("--blas-threads", o.process.blas_threads, "OpenBLAS threads per rank")
      ->capture_default_str();
  run.add_flag("--quiet", o.process.quiet,
               "No per-cell progress on stderr (shown only on a terminal)");
  run.add_option("--max-memory", o.max_memory,
                 "Refuse to start when a rank's estimated memory exceeds this (e.g. 8GiB; default: "
                 "this node's memory / its ranks)");
  run.add_option("--sweep", o.sweep,
                 "tokens=V1,V2,...: run the grid once per tokens-per-rank value, into one report");
  run.add_option("--inject-fault", o.inject_fault,
                 "Test the failure path: KIND:RANK[:PHASE[:N]], KIND exit|stall, e.g. stall:1 "
                 "(that rank fails after its first dispatch; the others stop within --timeout)");
}

void add_tune_options(CLI::App& tune, c2r::TuneOptions& o) {
  add_workload_options(tune, o.workload);
  tune.add_option("--layer", o.layer,
                  "Layer(s): a number, a comma list, or 'all' (default: all for trace, else 0)");
  tune.add_option("--strategy", o.strategy,
                  "Exchange the placement is tuned for, one whose traffic depends on it: " +
                      join(placement_sensitive_strategies()))
      ->capture_default_str();
  tune.add_option("--routing", o.routing,
                  "vanilla, or c2r (Top-T chosen from the candidates; vanilla is shown too)")
      ->capture_default_str();
  tune.add_option("--top-t", o.top_t,
                  "C2R Top-T candidates (default: every T with trace data, else k-1, 2k, 4k, 8k "
                  "and the preset's)")
      ->delimiter(',');
  tune.add_option("--max-imbalance", o.max_imbalance,
                  "Top-T: largest predicted rank imbalance (busiest rank's rows / mean) of any "
                  "layer")
      ->capture_default_str();
  tune.add_option("--capacity-factors", o.capacity_factors, "Padded capacity factors to weigh")
      ->delimiter(',')
      ->capture_default_str();
  tune.add_option("--max-drop", o.max_drop,
                  "Capacity factor: largest fraction of (token, expert) pairs dropped in any layer")
      ->capture_default_str();
  tune.add_option("--cluster", o.cluster,
                  "A described cluster (c2rbench.cluster-spec: simulation) or a profile saved by "
                  "`c2rbench topo` for this job's ranks (default: measure this job's ranks)");
  tune.add_option("--sample-tokens", o.sample_tokens,
                  "Simulation: tokens routed to estimate the routing statistics (at least 16 per "
                  "rank)")
      ->capture_default_str();
  tune.add_option("--search-seconds", o.search_seconds,
                  "Time limit of the swap search per layer and routing")
      ->capture_default_str();
  tune.add_flag("--validate", o.validate,
                "Run real layers for several placements and compare predicted with measured");
  tune.add_option("--warmup", o.warmup, "--validate: warm-up iterations per placement")
      ->capture_default_str();
  tune.add_option("--iters", o.iters,
                  "--validate: timed iterations per placement (interleaved: rounds over every "
                  "placement)")
      ->capture_default_str();
  tune.add_option("--order", o.order, "--validate: interleaved | sequential (as for run)")
      ->capture_default_str();
  tune.add_option("--out", o.process.out,
                  "Tuning file (default: results/c2rbench-tune-<timestamp>.json); never "
                  "overwritten");
  tune.add_option("--blas-threads", o.process.blas_threads, "OpenBLAS threads per rank")
      ->capture_default_str();
  tune.add_flag("--quiet", o.process.quiet, "No progress on stderr");
}

// A subcommand: its parser, whether it waits on other ranks (then the watchdog watches it and it
// takes --timeout), and what it does once parsed, returning the exit status.
struct Subcommand {
  CLI::App* app = nullptr;
  bool collective = false;
  std::function<int(const c2r::Communicator&)> run;
};

// Every option of every subcommand, filled by the parser; outlives the parse.
struct CommandLine {
  c2r::RunOptions run;
  c2r::TuneOptions tune;
  c2r::TopoArgs topo;
  c2r::CompareArgs compare;
  c2r::ReportArgs report;
  double timeout = c2r::kDefaultTimeoutSeconds;
  std::vector<std::string> argv;
};

// `run --backend cuda`: the device layer, where it was built.
c2r::BackendFactory cuda_backend() {
#ifdef C2R_HAVE_CUDA_BACKEND
  return [](const c2r::RunConfig& config, const c2r::Communicator& mpi, c2r::LayerSuite& suite) {
    auto device = std::make_shared<c2r::CudaLayerSuite>(config, mpi, suite);
    return c2r::CellStarter([device](const c2r::Cell& cell) { return device->start_cell(cell); });
  };
#else
  return {};
#endif
}

void add_topo_options(CLI::App& topo, c2r::TopoArgs& a) {
  topo.add_option("--out", a.out, "Save the cluster profile JSON here (never overwritten)");
  topo.add_option("--repetitions", a.options.repetitions, "Ping-pongs / all2alls per probe")
      ->capture_default_str();
  topo.add_option("--large-bytes", a.options.large_bytes, "Bandwidth probe message size (B)")
      ->capture_default_str();
}

void add_compare_options(CLI::App& compare, c2r::CompareArgs& a) {
  compare
      .add_option("reports", a.files,
                  "One argument per side, the first the reference: a report, or repeated runs "
                  "of that side as a comma-separated list (a1.json,a2.json,a3.json; 3 or more "
                  "runs per side let the interval include how much a whole run moves)")
      ->required()
      ->expected(2, -1);
  compare.add_option("--threshold", a.threshold,
                     "Exit 1 when a phase is significantly slower by more than this (5% or 0.05)");
  compare.add_option("--format", a.format, "table | markdown | json")->capture_default_str();
  compare.add_option("--phase", a.options.phases, "Phases to compare")
      ->delimiter(',')
      ->capture_default_str();
  compare.add_option("--confidence", a.options.confidence, "Bootstrap interval level")
      ->capture_default_str();
  compare.add_option("--resamples", a.options.resamples, "Bootstrap resamples")
      ->capture_default_str();
}

void add_report_options(CLI::App& report, c2r::ReportArgs& a) {
  report.add_option("reports", a.files, "Reports")->required()->expected(1, -1);
  report.add_option("--html", a.html,
                    "Write one self-contained HTML page here (never overwritten)");
  report.add_option("--tuning", a.tuning,
                    "A tuning file whose validation is plotted (predicted vs measured)");
}

// The subcommand table: one row each, in the order --help lists them.
std::vector<Subcommand> add_subcommands(CLI::App& app, CommandLine& c) {
  std::vector<Subcommand> table = {
      {app.add_subcommand("run",
                          "Benchmark one MoE layer over a grid of routings, strategies and "
                          "placements"),
       true,
       [&c](const c2r::Communicator& comm) {
         return c2r::run_command(c.run, c.argv, comm, cuda_backend());
       }},
      {app.add_subcommand("backends", "List the compute/exchange backends built in"), false,
       [](const c2r::Communicator& comm) { return c2r::backends_command(comm); }},
      {app.add_subcommand(
           "topo", "Show where every rank runs (hwloc) and measure rank-to-rank and all2all costs"),
       true, [&c](const c2r::Communicator& comm) { return c2r::topo_command(c.topo, comm); }},
      {app.add_subcommand("tune",
                          "Choose expert placement, C2R Top-T and capacity factor with a measured "
                          "cost model; write a tuning file for `run --placement`"),
       true,
       [&c](const c2r::Communicator& comm) { return c2r::tune_command(c.tune, c.argv, comm); }},
      {app.add_subcommand("compare",
                          "Compare reports: per-phase ratios of medians with bootstrap intervals "
                          "over repeated runs and their iterations"),
       false,
       [&c](const c2r::Communicator& comm) { return c2r::compare_command(c.compare, comm); }},
      {app.add_subcommand(
           "report", "Print reports' tables, or render them (and a tuning file) as one HTML page"),
       false, [&c](const c2r::Communicator& comm) { return c2r::report_command(c.report, comm); }},
  };
  add_run_options(*table[0].app, c.run);
  add_topo_options(*table[2].app, c.topo);
  add_tune_options(*table[3].app, c.tune);
  add_compare_options(*table[4].app, c.compare);
  add_report_options(*table[5].app, c.report);
  // Every subcommand that waits on other ranks is watched: a dead or stalled peer stops this rank
  // within about --timeout seconds instead of hanging the allocation.
  for (const Subcommand& command : table) {
    if (!command.collective) continue;
    command.app
        ->add_option("--timeout", c.timeout,
                     "Stop (exit 4, no report) when this rank makes no progress for this many "
                     "seconds, e.g. because another rank died or stalled; 0 = never")
        ->check(CLI::NonNegativeNumber)
        ->capture_default_str();
  }
  return table;
}

// Runs the parsed subcommand; one error message, every rank stopped: exit 2 for bad input (raised
// on every rank), MPI_Abort with 3 for an error on some ranks only.
int run_subcommand(const Subcommand& command, const CommandLine& c, int rank) {
  // Outlives MPI_Finalize below (which also waits on every rank).
  const c2r::Watchdog watchdog(command.collective ? c.timeout : 0.0, rank, "--timeout");
  c2r::set_activity(command.app->get_name());
  int status = 0;
  try {
    const c2r::Communicator comm(MPI_COMM_WORLD);
    status = command.run(comm);
  } catch (const c2r::Error& e) {
    if (e.raised_on_all_ranks()) {
      if (rank == 0) std::cerr << "c2rbench: error: " << e.what() << std::endl;
      MPI_Finalize();
      return 2;
    }
    std::cerr << "c2rbench: error on rank " << rank << ": " << e.what() << std::endl;
    MPI_Abort(MPI_COMM_WORLD, 3);
  } catch (const std::exception& e) {
    std::cerr << "c2rbench: internal error on rank " << rank << ": " << e.what() << std::endl;
    MPI_Abort(MPI_COMM_WORLD, 3);
  }
  MPI_Finalize();
  return status;
}

}  // namespace

int c2r::cli_main(int argc, char** argv) {
  MPI_Init(&argc, &argv);
  int rank = 0;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  // Errors are reported through c2r::Error, not MPI's default abort-on-error.
  MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);

  CLI::App app{
      "c2rbench: benchmark and autotune expert parallelism of MoE layers (run under mpirun)"};
  app.require_subcommand(1);
  CommandLine command_line;
  command_line.argv.assign(argv, argv + argc);
  const std::vector<Subcommand> subcommands = add_subcommands(app, command_line);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // Every rank parses the same arguments: rank 0 speaks, everyone exits the same way.
    const int status = rank == 0 ? app.exit(e) : e.get_exit_code();
    MPI_Finalize();
    return status;
  }
  for (const Subcommand& command : subcommands) {
    if (command.app->parsed()) return run_subcommand(command, command_line, rank);
  }
  MPI_Finalize();
  return 0;
}
