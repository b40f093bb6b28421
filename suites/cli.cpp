// NAME     c2rbench - benchmark and autotune expert parallelism of MoE layers under MPI
// PURPOSE  Times every phase of an MoE layer (gate, permute, dispatch, expert, combine, unpermute)
//          under vanilla and C2R routing with padded, dropless and dedup exchanges, checks the
//          output against a serial reference and writes a versioned JSON report.
// USAGE    mpirun -np R c2rbench run [options]      (see README.md and `c2rbench run --help`)
//          mpirun -np R c2rbench tune [options]     (autotune placement, Top-T, capacity factor)
//          mpirun -np R c2rbench topo [--out FILE]  (topology and measured link costs)
//          c2rbench compare A.json B.json [...]    (per-phase ratios with bootstrap intervals)
// NOTES    Every rank must get the same arguments. Errors are printed once and stop every rank.

#include <mpi.h>

#include <iostream>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "collectives/backend.hpp"
#include "collectives/communicator.hpp"
#include "collectives/strategy.hpp"
#include "common/error.hpp"
#include "common/file_io.hpp"
#include "common/json_text.hpp"
#include "common/watchdog.hpp"
#include "model/model_config.hpp"
#include "results/compare.hpp"
#include "results/html_report.hpp"
#include "results/report.hpp"
#include "results/table.hpp"
#include "suites/cli.hpp"
#include "suites/run_command.hpp"
#include "suites/tune_command.hpp"
#ifdef C2R_HAVE_CUDA_BACKEND
#include "suites/cuda_layer_suite.hpp"
#endif
#include "tuner/topology.hpp"

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
  tune.add_option("--iters", o.iters, "--validate: timed iterations per placement")
      ->capture_default_str();
  tune.add_option("--out", o.process.out,
                  "Tuning file (default: results/c2rbench-tune-<timestamp>.json); never "
                  "overwritten");
  tune.add_option("--blas-threads", o.process.blas_threads, "OpenBLAS threads per rank")
      ->capture_default_str();
  tune.add_flag("--quiet", o.process.quiet, "No progress on stderr");
}

// "5%" or "0.05" -> 0.05; "" -> -1 (no threshold).
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
  C2R_CHECK(value >= 0.0,
            "--threshold '" << text << "' is not a non-negative number or percentage");
  return percent ? value / 100.0 : value;
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
  c2r::RunOptions run_options;
  CLI::App* run = app.add_subcommand("run",
                                     "Benchmark one MoE layer over a grid of routings, "
                                     "strategies and placements");
  add_run_options(*run, run_options);
  CLI::App* list = app.add_subcommand("backends", "List the compute/exchange backends built in");
  c2r::TopologyOptions topo_options;
  std::string topo_out;
  CLI::App* topo = app.add_subcommand(
      "topo", "Show where every rank runs (hwloc) and measure rank-to-rank and all2all costs");
  topo->add_option("--out", topo_out, "Save the cluster profile JSON here (never overwritten)");
  topo->add_option("--repetitions", topo_options.repetitions, "Ping-pongs / all2alls per probe")
      ->capture_default_str();
  topo->add_option("--large-bytes", topo_options.large_bytes, "Bandwidth probe message size (B)")
      ->capture_default_str();

  c2r::TuneOptions tune_options;
  CLI::App* tune = app.add_subcommand(
      "tune",
      "Choose expert placement, C2R Top-T and capacity factor with a measured cost model; "
      "write a tuning file for `run --placement`");
  add_tune_options(*tune, tune_options);

  std::vector<std::string> compare_files;
  std::string compare_threshold, compare_format = "table";
  c2r::CompareOptions compare_options;
  CLI::App* compare = app.add_subcommand(
      "compare", "Compare reports: per-phase ratios of medians with bootstrap intervals");
  compare->add_option("reports", compare_files, "Reports; the first is the reference")
      ->required()
      ->expected(2, -1);
  compare->add_option("--threshold", compare_threshold,
                      "Exit 1 when a phase is significantly slower by more than this (5% or 0.05)");
  compare->add_option("--format", compare_format, "table | markdown | json")->capture_default_str();
  compare->add_option("--phase", compare_options.phases, "Phases to compare")
      ->delimiter(',')
      ->capture_default_str();
  compare->add_option("--confidence", compare_options.confidence, "Bootstrap interval level")
      ->capture_default_str();
  compare->add_option("--resamples", compare_options.resamples, "Bootstrap resamples")
      ->capture_default_str();

  std::vector<std::string> report_files;
  std::string report_html, report_tuning;
  CLI::App* report = app.add_subcommand(
      "report", "Print reports' tables, or render them (and a tuning file) as one HTML page");
  report->add_option("reports", report_files, "Reports")->required()->expected(1, -1);
  report->add_option("--html", report_html,
                     "Write one self-contained HTML page here (never overwritten)");
  report->add_option("--tuning", report_tuning,
                     "A tuning file whose validation is plotted (predicted vs measured)");

  // Every subcommand that waits on other ranks is watched: a dead or stalled peer stops this rank
  // within about --timeout seconds instead of hanging the allocation.
  double timeout = c2r::kDefaultTimeoutSeconds;
  for (CLI::App* collective : {run, tune, topo}) {
    collective
        ->add_option("--timeout", timeout,
                     "Stop (exit 4, no report) when this rank makes no progress for this many "
                     "seconds, e.g. because another rank died or stalled; 0 = never")
        ->check(CLI::NonNegativeNumber)
        ->capture_default_str();
  }

  int status = 0;
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // Every rank parses the same arguments: rank 0 speaks, everyone exits the same way.
    status = rank == 0 ? app.exit(e) : (e.get_exit_code());
    MPI_Finalize();
    return status;
  }

  std::vector<std::string> args(argv, argv + argc);
  const bool watched = run->parsed() || tune->parsed() || topo->parsed();
  // Outlives MPI_Finalize below (which also waits on every rank).
  const c2r::Watchdog watchdog(watched ? timeout : 0.0, rank);
  c2r::set_activity(app.get_subcommands().front()->get_name());
  try {
    c2r::Communicator comm(MPI_COMM_WORLD);
    if (list->parsed()) {
      if (rank == 0) {
        for (const auto& b : c2r::backends()) {
          std::cout << b.name << "  " << (b.built ? "built    " : "not built") << "  "
                    << b.description << "\n";
        }
      }
    } else if (run->parsed()) {
      c2r::BackendFactory cuda_backend;
#ifdef C2R_HAVE_CUDA_BACKEND
      cuda_backend = [](const c2r::RunConfig& config, const c2r::Communicator& mpi,
                        c2r::LayerSuite& suite) {
        auto device = std::make_shared<c2r::CudaLayerSuite>(config, mpi, suite);
        return c2r::CellRunner([device](const c2r::Cell& cell) { return device->run_cell(cell); });
      };
#endif
      status = run_command(run_options, args, comm, cuda_backend);
    } else if (compare->parsed()) {
      // Every rank reads and compares the same files (deterministic); rank 0 prints.
      nlohmann::json comparison;
      try {
        compare_options.threshold = parse_threshold(compare_threshold);
        std::vector<c2r::Report> reports;
        for (const auto& file : compare_files) reports.push_back(c2r::load_report(file));
        comparison = c2r::compare_reports(reports, compare_files, compare_options);
        if (rank == 0) c2r::print_comparison(std::cout, comparison, compare_format);
      } catch (const c2r::Error& e) {
        throw c2r::Error::on_all_ranks(e.what());
      }
      status = comparison["regressions"].get<int>() > 0 ? 1 : 0;
    } else if (report->parsed()) {
      // Every rank reads the same files (deterministic errors); rank 0 prints or writes.
      try {
        std::vector<c2r::Report> reports;
        for (const auto& file : report_files) reports.push_back(c2r::load_report(file));
        nlohmann::json tuning;
        if (!report_tuning.empty()) {
          tuning = c2r::parse_report_tuning(c2r::read_text_file(report_tuning), report_tuning);
        }
        if (rank == 0 && report_html.empty()) {
          for (size_t i = 0; i < reports.size(); ++i) {
            std::cout << "# " << report_files[i] << "\n";
            c2r::print_run_table(std::cout, reports[i].config, reports[i].results);
          }
        } else if (rank == 0) {
          c2r::write_file_atomically(report_html, c2r::render_html(reports, report_files, tuning),
                                     false);
          std::cout << "# html report: " << report_html << "\n";
        }
      } catch (const c2r::Error& e) {
        throw c2r::Error::on_all_ranks(e.what());
      }
    } else if (tune->parsed()) {
      status = c2r::tune_command(tune_options, args, comm);
    } else if (topo->parsed()) {
      std::string problem;  // decided on rank 0, raised on every rank
      if (rank == 0 && !topo_out.empty() && c2r::file_exists(topo_out)) {
        problem = "refusing to overwrite existing file " + topo_out + " (choose another --out)";
      }
      comm.broadcast(problem);
      if (!problem.empty()) throw c2r::Error::on_all_ranks(problem);
      const c2r::ClusterProfile profile = c2r::measure_cluster(comm, topo_options);
      if (rank == 0) {
        c2r::print_cluster_profile(std::cout, profile);
        if (!topo_out.empty()) {
          c2r::write_file_atomically(topo_out, profile.to_json().dump(1) + "\n", false);
          std::cout << "# cluster profile: " << topo_out << "\n";
        }
      }
    }
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
