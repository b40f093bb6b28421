#include "cli/run_command.hpp"

#include <unistd.h>

#include <iostream>
#include <map>
#include <tuple>

#include "bench/binding_check.hpp"
#include "bench/context.hpp"
#include "bench/fault_injection.hpp"
#include "bench/layer_suite.hpp"
#include "bench/memory_estimate.hpp"
#include "collectives/backend.hpp"
#include "common/error.hpp"
#include "common/every_rank.hpp"
#include "common/file_io.hpp"
#include "common/watchdog.hpp"
#include "kernels/cpu/blas.hpp"
#include "model/data_store.hpp"
#include "results/report.hpp"
#include "results/table.hpp"
#include "results/verdict.hpp"

namespace c2r {

using nlohmann::json;

std::vector<LayerSummary> summarize_layers(const std::vector<CellResult>& results) {
  const auto bases = baselines(results);
  std::vector<std::string> order;
  std::map<std::string, LayerSummary> sums;  // by cell key without layer; ratios summed
  auto exchange_us = [](const CellResult& r) {
    return r.median_us(Phase::kDispatch) + r.median_us(Phase::kCombine);
  };
  for (const auto& r : results) {
    if (!r.in_grid) continue;
    const CellResult& base = baseline_of(r, bases);
    const std::string key = cell_key(r, {/*layer=*/false, /*sizes=*/false});
    if (!sums.count(key)) {
      order.push_back(key);
      sums[key] = LayerSummary{r.routing, r.top_t, r.strategy, r.placement, r.dtype, r.overlap};
    }
    LayerSummary& s = sums[key];
    ++s.layers;
    const double base_bytes = static_cast<double>(base.traffic.value().remote_bytes_total);
    s.remote_bytes_ratio +=
        base_bytes > 0 ? static_cast<double>(r.traffic.value().remote_bytes_total) / base_bytes : 0;
    s.dispatch_combine_time_ratio += exchange_us(r) / exchange_us(base);
    s.layer_time_ratio += r.median_us(Phase::kLayer) / base.median_us(Phase::kLayer);
    s.rank_imbalance += r.load.value().rank_imbalance;
  }
  std::vector<LayerSummary> summary;
  for (const auto& key : order) {
    LayerSummary s = sums[key];
    s.remote_bytes_ratio /= s.layers;
    s.dispatch_combine_time_ratio /= s.layers;
    s.layer_time_ratio /= s.layers;
    s.rank_imbalance /= s.layers;
    summary.push_back(s);
  }
  return summary;
}

namespace {

// What a run will do, validated on every rank before anything is allocated: the configuration,
// its passes (one, or one per --sweep value) and the fault to inject.
struct RunPlan {
  RunConfig config;
  std::vector<int64_t> sweep;     // tokens per rank of each pass; empty: one pass
  std::vector<RunConfig> passes;  // the grid of each pass
  FaultSpec fault;
};

RunPlan plan_run(const RunOptions& options, const RoutingTrace* trace, const Communicator& comm,
                 const BackendFactory& cuda_backend) {
  RunPlan plan;
  on_every_rank(comm, [&] {
    if (!options.inject_fault.empty()) {
      plan.fault = parse_fault(options.inject_fault, comm.size());
    }
    require_backend(options.process.backend);
    if (!options.sweep.empty()) plan.sweep = parse_token_sweep(options.sweep);
    plan.config = resolve_run_config(options, comm.size(), trace);
    C2R_CHECK(options.process.backend == "cpu" || cuda_backend,
              "backend '" << options.process.backend << "' is not available");
    if (plan.sweep.empty()) plan.passes.push_back(plan.config);
    for (int64_t tokens : plan.sweep) {
      RunOptions pass = options;
      pass.workload.tokens = tokens;
      plan.passes.push_back(resolve_run_config(pass, comm.size(), trace));
    }
  });
  return plan;
}

// Ranks launched with different arguments would deadlock or mix results: refuse.
void check_same_configuration(const json& config, const Communicator& comm) {
  const std::vector<std::string> all = comm.allgather_strings(config.dump());
  for (int r = 1; r < comm.size(); ++r) {
    if (all[r] != all[0]) {
      throw Error::on_all_ranks("rank " + std::to_string(r) +
                                "'s configuration differs from rank 0's; every rank must run the "
                                "same c2rbench command");
    }
  }
}

struct MemoryCheck {
  MemoryEstimate estimate;  // of the largest pass
  double limit = 0.0;
};

// The memory a rank needs, estimated from the configuration before allocating, against
// --max-memory (default: this node's memory over its ranks).
MemoryCheck check_memory(const std::string& max_memory, const std::vector<RunConfig>& passes,
                         const Communicator& comm) {
  MemoryCheck memory;
  for (const RunConfig& pass : passes) {
    const MemoryEstimate e = estimate_rank_memory(pass);
    if (e.total_bytes > memory.estimate.total_bytes) memory.estimate = e;
  }
  memory.limit = check_memory_limit(memory.estimate, max_memory,
                                    "use fewer --tokens or a smaller model, or more nodes", comm);
  return memory;
}

// The partial results of a run (FILE.partial): as each cell finishes, rank 0 rewrites the report
// of the cells finished so far, marked incomplete, so that a job killed part-way (a scheduler's
// time limit, the watchdog, a failing rank) leaves them. Once the final report is written, the
// partial file is removed. A partial file that cannot be written costs a warning, not the run.
class PartialResults {
 public:
  PartialResults(const OutputFile& out, json context, json config, int planned_cells, bool writer)
      : out_(out),
        context_(std::move(context)),
        config_(std::move(config)),
        planned_(planned_cells),
        writer_(writer) {}

  // Every rank, as a cell finishes (only rank 0 keeps and writes them).
  void add(const CellResult& result) {
    if (!writer_ || failed_) return;
    results_.push_back(result);
    Report report{context_, config_, results_, std::nullopt,
                  IncompleteRun{static_cast<int>(results_.size()), planned_}};
    add_speedups(report.results, /*partial=*/true);
    if (!out_.write_partial(to_json(report).dump(1) + "\n")) {
      failed_ = true;
      std::cerr << "warning: cannot write the partial results " << out_.partial_path()
                << "; the run goes on without them" << std::endl;
    }
  }
  // Rank 0, once the final report is written.
  void remove() const {
    if (writer_) out_.remove_partial();
  }

 private:
  const OutputFile& out_;
  json context_, config_;
  int planned_;
  bool writer_;
  bool failed_ = false;
  std::vector<CellResult> results_;
};

// Every cell of every pass, in order, on the chosen backend, each handed to `partial` as it
// finishes. `rounds`: the timed rounds of each pass (interleaved; with a minimum time, more than
// the iterations); `devices`: every rank's device, where the backend has them.
std::vector<CellResult> run_passes(const RunPlan& plan, const ProcessOptions& process,
                                   DataStore& data, const Communicator& comm,
                                   const BackendFactory& cuda_backend, PartialResults& partial,
                                   std::vector<int>& rounds, json& devices) {
  // Progress only where someone watches it.
  const bool progress = comm.rank() == 0 && !process.quiet && isatty(STDERR_FILENO);
  const size_t passes = plan.passes.size();
  std::vector<CellResult> results;
  arm_fault(plan.fault, comm.rank());
  for (size_t pass = 0; pass < passes; ++pass) {
    const RunConfig& config = plan.passes[pass];
    LayerSuite suite(config, comm, data);
    check_run_inputs(config, suite, data, comm.size());
    CellStarter start = [&suite](const Cell& cell) { return suite.start_cell(cell); };
    if (process.backend == "cuda") {
      on_every_rank(comm, [&] { start = cuda_backend(config, comm, suite, devices); });
    }
    const auto label = [&](size_t i) {
      const Cell& cell = config.cells[i];
      return (passes > 1 ? "pass " + std::to_string(pass + 1) + "/" + std::to_string(passes) +
                               " tokens " + std::to_string(config.tokens_per_rank) + " "
                         : "") +
             "layer " + std::to_string(cell.layer) + " " + to_string(cell.routing) +
             (cell.routing == RoutingMode::kC2R ? " T=" + std::to_string(cell.top_t) : "") + " " +
             to_string(cell.strategy) + " " + cell.placement;
    };
    const auto finished = [&](size_t, const CellResult& result) {
      CellResult kept = result;
      if (!plan.sweep.empty()) kept.tokens_per_rank = config.tokens_per_rank;
      partial.add(kept);
    };
    std::vector<CellResult> pass_results =
        run_cells(comm, config.cells, start, config.schedule(), label, progress, finished);
    // Every cell of an interleaved pass ran every round once.
    rounds.push_back(
        pass_results.empty() ? 0 : static_cast<int>(pass_results.front().round_positions.size()));
    for (CellResult& result : pass_results) {
      if (!plan.sweep.empty()) result.tokens_per_rank = config.tokens_per_rank;
      results.push_back(std::move(result));
    }
  }
  add_speedups(results);
  return results;
}

// Rank 0: the tables (one per pass of a sweep), the layer summary, the report file and the check
// line.
void print_and_write(const Report& report, const RunPlan& plan, const OutputFile& out,
                     int64_t wrong) {
  if (plan.sweep.empty()) {
    print_run_table(std::cout, report.config, report.results);
  } else {
    for (size_t pass = 0; pass < plan.sweep.size(); ++pass) {
      const int64_t tokens = plan.sweep[pass];
      json pass_config = report.config;
      pass_config["tokens_per_rank"] = tokens;
      const json rounds = report.config.at("sweep").value("rounds", json::array());
      if (pass < rounds.size()) pass_config["rounds"] = rounds[pass];
      std::vector<CellResult> pass_results;
      for (const auto& r : report.results) {
        if (r.tokens_per_rank == tokens) pass_results.push_back(r);
      }
      print_run_table(std::cout, pass_config, pass_results);
    }
  }
  if (report.summary) print_layer_summary(std::cout, *report.summary);
  print_verdicts(std::cout, verdicts(report.results));
  std::cout << "# report: " << out.write(to_json(report).dump(1) + "\n") << "\n";
  if (plan.config.check) {
    std::cout << "# check: " << (wrong == 0 ? "all cells match" : "FAILED") << " the serial "
              << "reference (" << wrong << " wrong rows, tolerance " << plan.config.tolerance
              << ")\n";
  }
  std::cout << std::flush;
}

}  // namespace

int run_command(const RunOptions& options, const std::vector<std::string>& argv,
                const Communicator& comm, const BackendFactory& cuda_backend) {
  // The data directory, and a user's trace (--trace): the model takes its experts, top-k and
  // layers, so it is read before the options are resolved.
  DataStore data(comm, data_directory(options.workload));
  const RoutingTrace* trace = read_user_trace(options.workload, data);
  const RunPlan plan = plan_run(options, trace, comm, cuda_backend);
  const ProcessOptions process = resolve_process(options.process);  // --exchange auto resolved
  check_same_configuration(plan.config.to_json(process), comm);
  const MemoryCheck memory = check_memory(options.max_memory, plan.passes, comm);
  const OutputFile out = choose_output_file(process.out, "c2rbench", comm);

  // A partial file left by another run would be replaced without a word: refuse it too.
  on_every_rank(comm, [&] {
    if (comm.rank() == 0) out.check_partial_free("--out");
  });

  set_blas_threads(process.blas_threads);
  json context = collect_context(comm, argv);
  // Ranks that time-share cores are measured doing so: say it where the user looks, and record it.
  const std::vector<std::string> binding =
      binding_warnings(context["rank_binding"], process.blas_threads);
  if (comm.rank() == 0) {
    for (const std::string& w : binding) std::cerr << "warning: " << w << std::endl;
  }
  context["warnings"] = binding;
  if (process.backend == "cuda" && process.exchange == "mpi") {
    context["warnings"].push_back(
        "--exchange mpi stages device rows through host memory over MPI: it checks multi-rank "
        "layouts on shared GPUs, and its dispatch, combine and layer times stand for no "
        "production exchange");
  }
  json config_json = plan.config.to_json(process);
  config_json["data_dir"] = data_directory(options.workload);  // where the reference data came from
  if (!plan.sweep.empty()) config_json["sweep"] = {{"tokens_per_rank", plan.sweep}};
  int planned_cells = 0;
  for (const RunConfig& pass : plan.passes) planned_cells += static_cast<int>(pass.cells.size());
  PartialResults partial(out, context, config_json, planned_cells, comm.rank() == 0);
  std::vector<int> rounds;
  json devices;
  std::vector<CellResult> results =
      run_passes(plan, process, data, comm, cuda_backend, partial, rounds, devices);
  if (devices.is_array() && !devices.empty()) {  // the device backend: its GPUs and versions
    context["devices"] = devices;
    context["versions"]["cuda"] = devices[0].value("cuda_runtime", "");
    context["versions"]["nccl"] = devices[0].value("nccl", "");
  }

  // A minimum time decides the rounds while running: record those run, per pass of a sweep.
  if (plan.config.loops.min_seconds > 0.0 && plan.config.order == CellOrder::kInterleaved) {
    if (plan.sweep.empty()) {
      config_json["rounds"] = rounds.front();
    } else {
      config_json.erase("rounds");
      config_json["sweep"]["rounds"] = rounds;
    }
  }
  config_json["memory"] = {{"estimate_bytes_per_rank", memory.estimate.total_bytes},
                           {"limit_bytes_per_rank", memory.limit}};
  Report report{context, config_json, std::move(results), std::nullopt, std::nullopt};
  if (plan.config.layers.size() > 1) report.summary = summarize_layers(report.results);

  int64_t wrong = 0;
  for (const auto& r : report.results) {
    if (r.check && r.check->checked) wrong += r.check->wrong_rows;
  }
  on_every_rank(comm, [&] {
    if (comm.rank() == 0) {
      print_and_write(report, plan, out, wrong);
      partial.remove();
    }
  });
  return wrong == 0 ? 0 : 1;
}

}  // namespace c2r
