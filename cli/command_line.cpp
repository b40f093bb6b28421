#include "cli/command_line.hpp"

#include <cstdint>
#include <limits>
#include <memory>

#include "cli/option_checks.hpp"
#include "collectives/strategy.hpp"
#include "common/error.hpp"
#include "model/model_config.hpp"
#ifdef C2R_HAVE_CUDA_BACKEND
#include "bench/cuda/cuda_layer_suite.hpp"
#endif

namespace c2r {

namespace {

// The documented ranges of the numeric options (README, docs/RELIABILITY.md). Sizes are bounded
// further by each command's memory estimate; these bounds keep every product of two of them
// inside int64.
constexpr int64_t kMaxExperts = 1 << 16;
constexpr int64_t kMaxTopK = 1 << 10;
constexpr int64_t kMaxWidth = 1 << 20;  // --hidden, --ffn, --shared-ffn
constexpr int64_t kMaxIterations = 1000000;
constexpr int64_t kMaxThreads = 1024;
// --overlap: chunks per layer. Each chunk is one exchange of every rank each way, and the
// pipelines people run use 2 to 8.
constexpr int64_t kMaxOverlap = 64;
constexpr int64_t kMaxInt64 = std::numeric_limits<int64_t>::max();
constexpr double kMaxCapacityFactor = 1000.0;
constexpr double kMaxSeconds = 1e6;
constexpr double kMaxMinTime = 3600.0;  // --min-time: an hour of layer time per cell

std::string join(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& item : items) out += (out.empty() ? "" : ", ") + item;
  return out;
}

std::vector<std::string> placement_sensitive_strategies() {
  std::vector<std::string> names;
  for (const auto* s : strategies()) {
    if (s->rules.placement_sensitive()) names.push_back(s->name);
  }
  return names;
}

// The model and workload flags `run` and `tune` share.
void add_workload_options(CLI::App& app, WorkloadOptions& o) {
  ModelOverrides& overrides = o.overrides;
  app.add_option("--preset", o.preset, "Model preset: " + join(preset_names()))
      ->capture_default_str()
      ->each([&o](const std::string&) { o.preset_given = true; });
  app.add_option("--experts", overrides.experts, "Override: routed experts per layer (E)")
      ->check(whole_number_in(1, kMaxExperts));
  app.add_option("--top-k", overrides.top_k, "Override: experts per token (k)")
      ->check(whole_number_in(1, kMaxTopK));
  app.add_option("--hidden", overrides.hidden, "Override: hidden size (H)")
      ->check(whole_number_in(1, kMaxWidth));
  app.add_option("--ffn", overrides.ffn, "Override: routed expert FFN width (F)")
      ->check(whole_number_in(1, kMaxWidth));
  app.add_option("--shared-ffn", overrides.shared_ffn,
                 "Override: shared expert FFN width (0 = no shared expert)")
      ->check(whole_number_in(0, kMaxWidth));
  app.add_option("--tokens", o.tokens, "Tokens per rank (bounded by the memory estimate)")
      ->check(whole_number_in(1, kMaxInt64))
      ->capture_default_str();
  app.add_option("--workload", o.kind,
                 "random | clustered | trace (real routing data) | hot (every token routed to "
                 "the --hot-experts first experts)")
      ->capture_default_str();
  app.add_option("--groups", o.groups, "clustered: latent expert groups (0 = experts / top-k)")
      ->check(whole_number_in(0, kMaxExperts))
      ->capture_default_str();
  app.add_option("--hot-experts", o.hot_experts,
                 "hot: experts 0..N-1 get every token (1: one expert receives all; top-k with "
                 "contiguous placement: rank 0 receives all)")
      ->check(whole_number_in(1, kMaxExperts))
      ->capture_default_str();
  app.add_option("--cluster-strength", o.cluster_strength,
                 "clustered: logit boost of a token's own group, in router-logit std devs "
                 "(0 = no collaboration)")
      ->check(finite_in(0.0, 100.0))
      ->capture_default_str();
  app.add_option("--seed", o.seed, "Seed of every random input")
      ->check(whole_number_in(0, kMaxInt64))
      ->capture_default_str();
  app.add_option("--data-dir", o.data_dir,
                 "Directory holding reference/ routing data (default: the built-in data)");
  app.add_option("--trace", o.trace,
                 "--workload trace: a routing trace of your own (c2rbench.trace JSON, arrays "
                 "inline or in .npy files; tools/routing_to_trace.py makes one): its experts, "
                 "top-k and layers make the model, with --hidden and --ffn or a --preset of the "
                 "same experts and top-k")
      ->check(CLI::Validator(
          [](std::string& value) { return value.empty() ? "needs a file name" : std::string(); },
          "FILE"));
}

// --max-memory of `run`, `tune` and `topo`: each estimates its memory before allocating.
void add_max_memory_option(CLI::App& app, std::string& max_memory) {
  app.add_option("--max-memory", max_memory,
                 "Refuse to start when a rank's estimated memory exceeds this (e.g. 8GiB; default: "
                 "this node's memory / its ranks)");
}

// --out of `run`, `tune` and `topo`.
void add_output_option(CLI::App& app, std::string& out, const std::string& help) {
  app.add_option("--out", out, help + "; never overwritten, checked before anything runs");
}

void add_run_options(CLI::App& run, RunOptions& o) {
  add_workload_options(run, o.workload);
  run.add_option("--rank-tokens", o.rank_tokens,
                 "Uneven load: each rank's token count, a comma list with one per rank (0 allowed; "
                 "replaces --tokens)");
  run.add_option("--layer", o.layer, "Layer(s): a number, a comma list, or 'all' (trace)")
      ->capture_default_str();
  add_list_option(run, "--routing", o.routing, "Routings to run: vanilla, c2r");
  add_list_option(run, "--top-t", o.top_t,
                  "C2R Top-T values (k-1 <= T <= E-1; default: the preset's, 1 for LLaMA-MoE, 30 "
                  "for Qwen)");
  add_list_option(run, "--strategy", o.strategy, "Exchange strategies, of:\n" + strategy_help());
  add_list_option(run, "--placement", o.placement,
                  "Placements: contiguous, round-robin, collab, eplb (DeepSeek's EPLB: hot experts "
                  "replicated, from the cell's own loads; see --replicas), or a placement JSON "
                  "file");
  run.add_option("--replicas", o.replicas,
                 "--placement eplb: redundant experts (E + replicas must divide over the ranks); "
                 "default: one per rank")
      ->check(CLI::Range(0, 1 << 20));
  add_list_option(run, "--dtype", o.dtype,
                  "Payload types of the exchanged rows: fp32; bf16 (rows rounded to bfloat16); "
                  "fp8 (dispatch rows in e4m3 with one float scale per 128 channels, combine rows "
                  "in bf16). Experts compute in fp32 on the CPU");
  add_list_option(run, "--overlap", o.overlap,
                  "Pipeline degrees: each rank's tokens split into N chunks whose dispatch and "
                  "combine (MPI_Ialltoallv) stay in flight while another chunk's experts compute; "
                  "1 = the serial layer",
                  whole_number_in(1, kMaxOverlap));
  run.add_option("--overlap-progress", o.overlap_progress,
                 "How a pipelined layer's exchanges progress while experts compute: test (MPI_Test "
                 "them after every expert GEMM) or wait (no MPI call until the layer waits)")
      ->capture_default_str();
  run.add_option("--capacity-factor", o.capacity_factor,
                 "padded: capacity = ceil(cf * tokens * k / E) slots per (rank, expert)")
      ->check(finite_in(0.0, kMaxCapacityFactor, /*lo_open=*/true))
      ->capture_default_str();
  run.add_option("--warmup", o.warmup, "Warm-up iterations per cell (not timed)")
      ->check(whole_number_in(1, kMaxIterations))
      ->capture_default_str();
  run.add_option("--iters", o.iters, "Timed iterations per cell")
      ->check(whole_number_in(1, kMaxIterations))
      ->capture_default_str();
  run.add_option("--min-time", o.min_time,
                 "Seconds of layer time every cell accumulates at least: timed iterations go on "
                 "past --iters until then (interleaved: more rounds of every cell); 0 = off")
      ->check(finite_in(0.0, kMaxMinTime))
      ->capture_default_str();
  run.add_option("--max-iters", o.max_iters,
                 "--min-time: the most timed iterations per cell (every sample is kept and "
                 "reported)")
      ->check(whole_number_in(1, kMaxIterations))
      ->capture_default_str();
  run.add_option("--order", o.order,
                 "interleaved: each round runs every cell once, in a seeded shuffled order (drift "
                 "lands on all cells alike; ratios paired by round); sequential: one cell's "
                 "iterations after another's")
      ->capture_default_str();
  run.add_flag("--check", o.check,
               "Compare every cell's output with the serial reference; exit 1 on a wrong row");
  run.add_option("--tolerance", o.tolerance, "--check: largest relative L2 error of a row")
      ->check(finite_in(0.0, 1.0, /*lo_open=*/true))
      ->capture_default_str();
  add_output_option(run, o.process.out,
                    "Report path (default: results/c2rbench-<timestamp>.json, a fresh name)");
  run.add_option("--backend", o.process.backend, "cpu | cuda")->capture_default_str();
  run.add_option("--exchange", o.process.exchange,
                 "How rows travel between ranks: auto (the backend's: MPI on cpu, NCCL on cuda), "
                 "nccl (cuda: one GPU per rank), or mpi (cuda: device rows staged through host "
                 "memory, so ranks may share a GPU; for --check, its times stand for no "
                 "production exchange)")
      ->capture_default_str();
  run.add_option("--blas-threads", o.process.blas_threads, "OpenBLAS threads per rank")
      ->check(whole_number_in(1, kMaxThreads))
      ->capture_default_str();
  run.add_flag("--quiet", o.process.quiet,
               "No per-cell progress on stderr (shown only on a terminal)");
  add_max_memory_option(run, o.max_memory);
  run.add_option("--sweep", o.sweep,
                 "tokens=V1,V2,... or tokens=START:STOP:xFACTOR (e.g. 1:4096:x2): run the grid "
                 "once per tokens-per-rank value, into one report");
  run.add_option("--inject-fault", o.inject_fault,
                 "Test the failure path: KIND:RANK[:PHASE[:N]], KIND exit|stall, e.g. stall:1 "
                 "(that rank fails after its first dispatch; the others stop within --timeout)");
}

void add_tune_options(CLI::App& tune, TuneOptions& o) {
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
  tune.add_option("--dtype", o.dtype,
                  "Payload type of the exchanged rows the cost model counts (as for run: fp32, "
                  "bf16, fp8)")
      ->capture_default_str();
  add_list_option(tune, "--top-t", o.top_t,
                  "C2R Top-T candidates (default: every T with trace data, else k-1, 2k, 4k, 8k "
                  "and the preset's)");
  tune.add_option("--max-imbalance", o.max_imbalance,
                  "Top-T: largest predicted rank imbalance (busiest rank's rows / mean) of any "
                  "layer")
      ->check(finite_in(1.0, 1e6))
      ->capture_default_str();
  add_list_option(tune, "--capacity-factors", o.capacity_factors,
                  "Padded capacity factors to weigh",
                  finite_in(0.0, kMaxCapacityFactor, /*lo_open=*/true));
  add_list_option(tune, "--overlap", o.overlap,
                  "Pipeline degrees to weigh (as for run: token chunks whose exchanges overlap "
                  "expert compute); the one of lowest predicted time is chosen, and --validate "
                  "runs each",
                  whole_number_in(1, kMaxOverlap));
  add_list_option(tune, "--replicas", o.replicas,
                  "Redundant expert counts to weigh (0 = none): each layer on the better of EPLB "
                  "and the tuned placement plus replicas; a count is chosen when it lowers the "
                  "predicted time by 1% or more, and --validate runs its placements",
                  whole_number_in(0, 1 << 20));
  tune.add_option("--max-drop", o.max_drop,
                  "Capacity factor: largest fraction of (token, expert) pairs dropped in any layer")
      ->check(finite_in(0.0, 1.0))
      ->capture_default_str();
  tune.add_option("--cluster", o.cluster,
                  "A described cluster (c2rbench.cluster-spec: simulation) or a profile saved by "
                  "`c2rbench topo` for this job's ranks (default: measure this job's ranks)");
  tune.add_option("--sample-tokens", o.sample_tokens,
                  "Simulation: tokens routed to estimate the routing statistics (at least 16 per "
                  "rank)")
      ->check(whole_number_in(1, kMaxInt64))
      ->capture_default_str();
  tune.add_option("--search-seconds", o.search_seconds,
                  "Time limit of the swap search per layer and routing")
      ->check(finite_in(0.0, kMaxSeconds, /*lo_open=*/true))
      ->capture_default_str();
  tune.add_flag("--validate", o.validate,
                "Run real layers for several placements and compare predicted with measured");
  tune.add_option("--warmup", o.warmup, "--validate: warm-up iterations per placement")
      ->check(whole_number_in(1, kMaxIterations))
      ->capture_default_str();
  tune.add_option("--iters", o.iters,
                  "--validate: timed iterations per placement (interleaved: rounds over every "
                  "placement)")
      ->check(whole_number_in(1, kMaxIterations))
      ->capture_default_str();
  tune.add_option("--order", o.order, "--validate: interleaved | sequential (as for run)")
      ->capture_default_str();
  add_output_option(tune, o.process.out,
                    "Tuning file (default: results/c2rbench-tune-<timestamp>.json, a fresh name)");
  tune.add_option("--blas-threads", o.process.blas_threads, "OpenBLAS threads per rank")
      ->check(whole_number_in(1, kMaxThreads))
      ->capture_default_str();
  tune.add_flag("--quiet", o.process.quiet, "No progress on stderr");
  add_max_memory_option(tune, o.max_memory);
}

// `run --backend cuda`: the device layer, where it was built.
// `process` outlives the run (it is the parsed command line's).
BackendFactory cuda_backend(const ProcessOptions& process) {
#ifdef C2R_HAVE_CUDA_BACKEND
  return [&process](const RunConfig& config, const Communicator& mpi, LayerSuite& suite,
                    nlohmann::json& devices) {
    auto device =
        std::make_shared<CudaLayerSuite>(config, mpi, suite, resolve_process(process).exchange);
    devices = device->devices();
    return CellStarter([device](const Cell& cell) { return device->start_cell(cell); });
  };
#else
  (void)process;
  return {};
#endif
}

void add_topo_options(CLI::App& topo, TopoArgs& a) {
  add_output_option(topo, a.out, "Save the cluster profile JSON here");
  topo.add_option("--repetitions", a.options.repetitions, "Ping-pongs / all2alls per probe")
      ->check(whole_number_in(1, 100000))
      ->capture_default_str();
  topo.add_option("--large-bytes", a.options.large_bytes, "Bandwidth probe message size (B)")
      ->check(whole_number_in(a.options.small_bytes + 1, 1 << 30))
      ->capture_default_str();
  add_max_memory_option(topo, a.max_memory);
}

void add_compare_options(CLI::App& compare, CompareArgs& a) {
  compare
      .add_option("reports", a.files,
                  "One argument per side, the first the reference: a report, or repeated runs "
                  "of that side as a comma-separated list (a1.json,a2.json,a3.json; 3 or more "
                  "runs per side let the interval include how much a whole run moves)")
      ->required()
      ->expected(2, -1);
  compare.add_option("--threshold", a.threshold,
                     "Exit 1 when a phase is significantly slower by more than this (5% or 0.05)");
  compare.add_option("--format", a.format, "table | markdown | json | csv")->capture_default_str();
  add_list_option(compare, "--phase", a.options.phases, "Phases to compare");
  compare.add_option("--confidence", a.options.confidence, "Bootstrap interval level")
      ->check(finite_in(0.5, 0.9999))
      ->capture_default_str();
  compare.add_option("--resamples", a.options.resamples, "Bootstrap resamples")
      ->check(whole_number_in(100, 100000))
      ->capture_default_str();
}

void add_report_options(CLI::App& report, ReportArgs& a) {
  report.add_option("reports", a.files, "Reports")->required()->expected(1, -1);
  report.add_option("--html", a.html,
                    "Write one self-contained HTML page here (never overwritten)");
  report.add_option("--tuning", a.tuning,
                    "A tuning file whose validation is plotted (predicted vs measured)");
  report.add_option("--csv", a.csv,
                    "Write the reports as CSV here: one row per (cell, phase), every independent "
                    "variable a column (never overwritten)");
}

// Valid UTF-8 (RFC 3629: no overlong forms, no surrogates, nothing above U+10FFFF).
bool valid_utf8(const std::string& text) {
  const auto* s = reinterpret_cast<const unsigned char*>(text.data());
  const size_t n = text.size();
  for (size_t i = 0; i < n;) {
    const unsigned char c = s[i];
    size_t length = 0;
    uint32_t code = 0;
    if (c < 0x80) {
      ++i;
      continue;
    } else if ((c & 0xE0) == 0xC0) {
      length = 2, code = c & 0x1F;
    } else if ((c & 0xF0) == 0xE0) {
      length = 3, code = c & 0x0F;
    } else if ((c & 0xF8) == 0xF0) {
      length = 4, code = c & 0x07;
    } else {
      return false;
    }
    if (i + length > n) return false;
    for (size_t j = 1; j < length; ++j) {
      if ((s[i + j] & 0xC0) != 0x80) return false;
      code = (code << 6) | (s[i + j] & 0x3F);
    }
    const uint32_t smallest[] = {0, 0, 0x80, 0x800, 0x10000};
    if (code < smallest[length] || code > 0x10FFFF || (code >= 0xD800 && code <= 0xDFFF)) {
      return false;
    }
    i += length;
  }
  return true;
}

}  // namespace

std::vector<Subcommand> add_subcommands(CLI::App& app, CommandLine& c) {
  const std::string stalled = "a rank has died or stalled";
  const std::string too_long = "reading and comparing reports took too long";
  std::vector<Subcommand> table = {
      {app.add_subcommand("run",
                          "Benchmark one MoE layer over a grid of routings, strategies and "
                          "placements"),
       stalled,
       [&c](const Communicator& comm) {
         return run_command(c.run, c.argv, comm, cuda_backend(c.run.process));
       }},
      {app.add_subcommand("backends", "List the compute/exchange backends built in"), "",
       [](const Communicator& comm) { return backends_command(comm); }},
      {app.add_subcommand(
           "topo", "Show where every rank runs (hwloc) and measure rank-to-rank and all2all costs"),
       stalled, [&c](const Communicator& comm) { return topo_command(c.topo, comm); }},
      {app.add_subcommand("tune",
                          "Choose expert placement, C2R Top-T and capacity factor with a measured "
                          "cost model; write a tuning file for `run --placement`"),
       stalled, [&c](const Communicator& comm) { return tune_command(c.tune, c.argv, comm); }},
      {app.add_subcommand("compare",
                          "Compare reports: per-phase ratios of medians with bootstrap intervals "
                          "over repeated runs and their iterations"),
       too_long, [&c](const Communicator& comm) { return compare_command(c.compare, comm); }},
      {app.add_subcommand(
           "report", "Print reports' tables, or render them (and a tuning file) as one HTML page"),
       too_long, [&c](const Communicator& comm) { return report_command(c.report, comm); }},
  };
  add_run_options(*table[0].app, c.run);
  add_topo_options(*table[2].app, c.topo);
  add_tune_options(*table[3].app, c.tune);
  add_config_options(*table[0].app, c.run_config, "a report (c2rbench run's)");
  add_config_options(*table[3].app, c.tune_config, "a tuning file (c2rbench tune's)");
  table[0].config = &c.run_config;
  table[0].effective = &c.run.process.options;
  table[3].config = &c.tune_config;
  table[3].effective = &c.tune.process.options;
  add_compare_options(*table[4].app, c.compare);
  add_report_options(*table[5].app, c.report);
  // A watched subcommand stops within about --timeout seconds of its last progress instead of
  // hanging the allocation: a dead or stalled peer, or a read or comparison that runs away.
  for (const Subcommand& command : table) {
    if (command.stall_cause.empty()) continue;
    command.app
        ->add_option("--timeout", c.timeout,
                     "Stop (exit 4, no output file) when this rank makes no progress for this "
                     "many seconds (" +
                         command.stall_cause + "); 0 = never")
        ->check(finite_in(0.0, kMaxSeconds))
        ->capture_default_str();
  }
  return table;
}

ParseOutcome parse_command_line(CLI::App& app, const std::vector<Subcommand>& subcommands, int argc,
                                const char* const* argv) {
  ParseOutcome outcome;
  for (int i = 1; i < argc; ++i) {
    if (!valid_utf8(argv[i])) {
      const std::string arg = argv[i];
      const bool flag_before = i > 1 && std::string(argv[i - 1]).rfind("--", 0) == 0;
      const std::string which = arg.rfind("--", 0) == 0 ? " (" + arg.substr(0, arg.find('=')) + ")"
                                : flag_before ? " (the value of " + std::string(argv[i - 1]) + ")"
                                              : "";
      outcome.status = 2;
      outcome.message = "argument " + std::to_string(i) + which +
                        " is not valid UTF-8 (paths and values must be UTF-8 text: they are "
                        "recorded in the report)";
      return outcome;
    }
  }
  if (argc > 1 && argv[1][0] != '-') {
    std::string known;
    bool found = false;
    for (const Subcommand& command : subcommands) {
      known += (known.empty() ? "" : ", ") + command.app->get_name();
      found = found || command.app->get_name() == argv[1];
    }
    if (!found) {
      outcome.status = 2;
      outcome.message = "unknown command '" + std::string(argv[1]) + "' (known: " + known + ")";
      return outcome;
    }
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == 0) {  // --help: the text CLI11 formats, on stdout
      outcome.status = 0;
      outcome.message = app.help();
      for (const Subcommand& command : subcommands) {
        if (command.app->parsed()) outcome.message = command.app->help();
      }
      return outcome;
    }
    outcome.status = 2;
    outcome.message = e.what();
    for (const Subcommand& command : subcommands) {
      if (command.app->parsed()) {
        outcome.message += " (see c2rbench " + command.app->get_name() + " --help)";
        return outcome;
      }
    }
    outcome.message += " (see c2rbench --help)";
    return outcome;
  }
  for (const Subcommand& command : subcommands) {
    if (command.app->parsed()) outcome.command = &command;
  }
  const Subcommand* command = outcome.command;
  if (command && command->config) {
    try {
      apply_config_files(*command->app, *command->config);
    } catch (const Error& e) {
      outcome.command = nullptr;
      outcome.status = 2;
      outcome.message =
          std::string(e.what()) + " (see c2rbench " + command->app->get_name() + " --help)";
      return outcome;
    }
    *command->effective = effective_options(*command->app);
  }
  return outcome;
}

}  // namespace c2r
