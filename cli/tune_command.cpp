#include "cli/tune_command.hpp"

#include <unistd.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cmath>
#include <iostream>
#include <limits>
#include <optional>

#include "bench/cache_flush.hpp"
#include "bench/context.hpp"
#include "bench/memory_estimate.hpp"
#include "bench/routing_source.hpp"
#include "cli/options.hpp"
#include "cli/tune_validate.hpp"
#include "common/checked_size.hpp"
#include "common/error.hpp"
#include "common/every_rank.hpp"
#include "common/file_io.hpp"
#include "common/rng.hpp"
#include "common/watchdog.hpp"
#include "kernels/cpu/blas.hpp"
#include "kernels/cpu/expert_ffn.hpp"
#include "kernels/cpu/permute.hpp"
#include "model/data_store.hpp"
#include "results/stats.hpp"
#include "results/table.hpp"
#include "results/tuning_tables.hpp"
#include "tuner/search.hpp"
#include "tuner/tuning.hpp"

namespace c2r {

using nlohmann::json;

namespace {

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

// Median over `repetitions` of the per-repetition maximum over ranks of `body`'s time. With
// `cold`, each repetition starts cache-cold, as the gate of a layer does (it follows the previous
// layer's phases); the permute gathers read the tokens the gate has just brought into the caches.
template <typename Body>
double timed_everywhere(const Communicator& comm, int repetitions, bool cold, Body body) {
  std::optional<CacheFlusher> flusher;
  if (cold) flusher.emplace();
  std::vector<double> times;
  for (int i = -1; i < repetitions; ++i) {  // one untimed warm-up
    if (flusher) flusher->flush();
    comm.barrier();
    const auto start = std::chrono::steady_clock::now();
    body();
    if (i >= 0) times.push_back(seconds_since(start));
  }
  comm.allreduce_max(times);
  return summarize(times).median;
}

// The tuner's measurement of this job's ranks: fewer repetitions than `topo` (it needs the fit).
TopologyOptions tune_topology_options() {
  TopologyOptions topo;
  topo.repetitions = 10;
  return topo;
}

// Repetitions of each calibration, the median kept: a busy machine makes single runs vary by tens
// of percent.
constexpr int kExpertRepetitions = 5;
constexpr int kRouterRepetitions = 9;
constexpr int kCopyRepetitions = 9;

// The shapes the rates are calibrated at: the rows one expert computes in a layer of this size
// (within [16, 4096]) and the tokens the gate and the copies run on (at least 16). The copies
// move tokens x k rows.
struct CalibrationShape {
  int64_t rows = 0;
  int64_t tokens = 0;
};

CalibrationShape calibration_shape(const ModelConfig& model, int64_t tokens_per_rank, int ranks) {
  // The layer's pairs can exceed 64 bits; the rows are at their bound long before.
  const std::optional<int64_t> pairs = checked_product({tokens_per_rank, model.top_k, ranks});
  const int64_t per_expert = pairs ? *pairs / model.experts : INT64_MAX;
  return {std::clamp<int64_t>(per_expert, 16, 4096), std::max<int64_t>(tokens_per_rank, 16)};
}

// What calibrate_rates holds at once: the tokens, the copies' rows and indices, two experts'
// weights, the expert's output and scratch, the router and its logits, the cache flush.
double calibration_bytes(const ModelConfig& model, int64_t tokens_per_rank, int ranks) {
  const CalibrationShape shape = calibration_shape(model, tokens_per_rank, ranks);
  const int64_t f = sizeof(float), index = sizeof(int64_t);
  const int64_t h = model.hidden;
  const std::optional<int64_t> copy_rows = checked_mul(shape.tokens, model.top_k);
  return bytes_of(std::max(shape.rows, shape.tokens), {h, f}) +
         bytes_of(copy_rows, {h * f + 2 * index + f}) + bytes_of(shape.tokens, {h, f}) +
         product_bytes({2, 3, h, model.ffn, f}) + product_bytes({shape.rows, h, f}) +
         product_bytes({ffn_scratch_floats(model.ffn), f}) + product_bytes({h, model.experts, f}) +
         bytes_of(shape.tokens, {model.experts + 2 * model.top_k, f}) +
         static_cast<double>(CacheFlusher::machine_bytes());
}

// The rates of this job's ranks at the model's shapes, all ranks computing at once (as in a layer).
ComputeRates calibrate_rates(const ModelConfig& model, int64_t tokens_per_rank, int ranks,
                             uint64_t seed, const Communicator& comm) {
  const int hidden = model.hidden;
  const CalibrationShape shape = calibration_shape(model, tokens_per_rank, ranks);
  const int64_t rows = shape.rows, tokens = shape.tokens;
  std::vector<float> x(std::max(rows, tokens) * hidden);
  Rng rng(seed, Stream::kHidden, 0, 1000003);
  for (auto& v : x) v = static_cast<float>(rng.normal());
  ComputeRates rates;

  const int64_t copy_rows = tokens * model.top_k;
  std::vector<int64_t> index(copy_rows);
  for (int64_t i = 0; i < copy_rows; ++i) index[i] = (i * 7919) % tokens;  // scattered reads
  std::vector<float> copied(copy_rows * hidden);
  const double copy_s = timed_everywhere(comm, kCopyRepetitions, true, [&] {
    gather_rows(x.data(), hidden, index.data(), copy_rows, hidden, copied.data(), hidden);
  });
  rates.copy_Bps = copy_rows * hidden * sizeof(float) / copy_s;
  // The unpermute's kernel on the gathered rows: every token sums its k rows (scattered), weighted,
  // into its output row, which it reads and writes too.
  std::vector<int64_t> position(copy_rows);
  for (int64_t i = 0; i < copy_rows; ++i) position[i] = (i * 7919) % copy_rows;
  std::vector<float> pair_weights(copy_rows, 0.5f), summed(tokens * hidden, 0.0f);
  const double scatter_s = timed_everywhere(comm, kCopyRepetitions, true, [&] {
    weighted_unpermute(copied.data(), hidden, position.data(), pair_weights.data(), tokens,
                       model.top_k, hidden, summed.data());
  });
  rates.scatter_Bps = copy_rows * hidden * sizeof(float) / scatter_s;

  // One expert's GEMMs take a fixed part, reading and packing its weights (3 H F floats) whatever
  // its rows, plus a part per row: with few rows per expert (many experts, few tokens) the first
  // dominates. The fixed part is the weights' bytes at the copy rate just measured (fitting it
  // from two sizes instead is at the mercy of a busy machine's noise); what the layer's rows take
  // beyond it gives the rate per row. Two weight sets alternate, so that every call starts on
  // weights the previous one did not touch, as a layer moving from one local expert to the next
  // does.
  const std::array<FfnWeights, 2> weights = {
      make_ffn_weights(seed, Stream::kExpert, 0, hidden, model.ffn),
      make_ffn_weights(seed, Stream::kExpert, 1, hidden, model.ffn)};
  std::vector<float> out(rows * hidden), scratch(ffn_scratch_floats(model.ffn));
  int call = 0;
  const double ffn_s = timed_everywhere(comm, kExpertRepetitions, true, [&] {
    swiglu_ffn(weights[call++ % 2], RowBlock{x.data(), hidden, out.data(), hidden, rows},
               scratch.data());
  });
  const double weight_bytes = 3.0 * hidden * model.ffn * sizeof(float);
  // At most half of the measured call: the rest is what the rows cost.
  rates.expert_call_s = std::min(weight_bytes / rates.copy_Bps, 0.5 * ffn_s);
  rates.expert_flops_per_s = rows * weights[0].flops_per_row() / (ffn_s - rates.expert_call_s);
  // The same with rank 0 computing and the others waiting, as the busiest rank computes once the
  // others are done: faster where ranks that compute at once share memory bandwidth or cores.
  if (comm.size() > 1) {
    const double alone_s = timed_everywhere(comm, kExpertRepetitions, true, [&] {
      if (comm.rank() != 0) return;
      swiglu_ffn(weights[call++ % 2], RowBlock{x.data(), hidden, out.data(), hidden, rows},
                 scratch.data());
    });
    rates.expert_alone_flops_per_s =
        rows * weights[0].flops_per_row() / std::max(alone_s - rates.expert_call_s, 1e-9);
  }

  std::vector<float> router(static_cast<size_t>(hidden) * model.experts);
  for (auto& v : router) v = static_cast<float>(rng.normal() / std::sqrt(hidden));
  std::vector<float> logits(tokens * model.experts), gate_weights(tokens * model.top_k);
  std::vector<int32_t> ids(tokens * model.top_k);
  const GateSpec gate = GateSpec::vanilla(model.experts, model.top_k, model.gate_weights);
  const double gate_s = timed_everywhere(comm, kRouterRepetitions, true, [&] {
    router_logits(x.data(), tokens, hidden, router.data(), model.experts, logits.data());
    select_experts(logits.data(), tokens, gate, ids.data(), gate_weights.data());
  });
  rates.router_flops_per_s = tokens * 2.0 * hidden * model.experts / gate_s;

  rates.source = "measured on this job's ranks (SwiGLU " + std::to_string(rows) + " rows, gate " +
                 std::to_string(tokens) + " tokens, gather " + std::to_string(copy_rows) +
                 " rows; slowest rank)";
  return rates;
}

// The resolved model, workload and data, and what tune decides for.
struct Setup : WorkloadSetup {
  std::vector<int> layers;
  const StrategyDescriptor* strategy = nullptr;
  RoutingMode routing = RoutingMode::kC2R;
};

Setup resolve_setup(const TuneOptions& o, const RoutingTrace* trace) {
  Setup s;
  static_cast<WorkloadSetup&>(s) = resolve_workload(o.workload, trace);
  resolve_process(o.process);
  const std::string layer_text = !o.layer.empty()                          ? o.layer
                                 : s.workload.kind == WorkloadKind::kTrace ? "all"
                                                                           : "0";
  s.layers = resolve_layers(layer_text, s);
  s.strategy = &find_strategy(o.strategy);
  C2R_CHECK(s.strategy->sends(parse_payload_type(o.dtype)),
            "--strategy " << o.strategy << " does not send --dtype " << o.dtype << " rows");
  C2R_CHECK(s.strategy->rules.placement_sensitive(),
            "tune --strategy " << o.strategy << ": the placement is tuned for a strategy whose "
                               << "traffic depends on it (" << o.strategy
                               << "'s does not; its capacity factor is tuned in every case)");
  s.routing = parse_routing(o.routing);
  C2R_CHECK(o.max_imbalance >= 1.0, "--max-imbalance must be at least 1");
  C2R_CHECK(o.max_drop >= 0.0 && o.max_drop < 1.0, "--max-drop must be in [0, 1)");
  C2R_CHECK(!o.capacity_factors.empty(), "--capacity-factors needs at least one value");
  for (double cf : o.capacity_factors) C2R_CHECK(cf > 0, "--capacity-factors must be positive");
  C2R_CHECK(o.sample_tokens >= 1, "--sample-tokens must be at least 1");
  C2R_CHECK(o.search_seconds > 0, "--search-seconds must be positive");
  C2R_CHECK(o.warmup >= 1 && o.iters >= 1, "--warmup and --iters must be at least 1");
  parse_cell_order(o.order);
  return s;
}

std::vector<int> top_t_candidates(const TuneOptions& o, const Setup& s, const RoutingSource& source,
                                  const DataStore& data) {
  const int k = s.model.top_k, experts = s.model.experts;
  std::vector<int> ts;
  if (s.routing == RoutingMode::kVanilla) return ts;
  if (!o.top_t.empty()) {
    ts = o.top_t;
  } else if (source.pair_trace()) {
    for (int t = std::max(1, k - 1); t <= experts - 1; ++t) {
      if (data.reference_file_exists(source.pair_trace_file(RoutingMode::kC2R, t))) ts.push_back(t);
    }
    C2R_CHECK(!ts.empty(), "no " << s.model.trace_family << " C2R trace for any Top-T (missing "
                                 << data.reference_path(source.pair_trace_file(RoutingMode::kC2R,
                                                                               std::max(1, k - 1)))
                                 << " and every other Top-T's file)");
  } else {
    ts = {k - 1, 2 * k, 4 * k, 8 * k, s.model.default_top_t};
  }
  std::vector<int> valid;
  for (int t : ts) {
    if (!o.top_t.empty()) {
      C2R_CHECK(t >= k - 1 && t <= experts - 1,
                "--top-t " << t << " is out of range: C2R with top-k " << k << " and " << experts
                           << " experts needs " << k - 1 << " <= T <= " << experts - 1);
    }
    if (!o.top_t.empty() && source.pair_trace()) {
      const std::string file = source.pair_trace_file(RoutingMode::kC2R, t);
      C2R_CHECK(data.reference_file_exists(file), "no " << s.model.trace_family
                                                        << " C2R trace for --top-t " << t
                                                        << " (missing data file " << file << ")");
    }
    if (t >= std::max(1, k - 1) && t <= experts - 1 &&
        std::find(valid.begin(), valid.end(), t) == valid.end()) {
      valid.push_back(t);
    }
  }
  std::sort(valid.begin(), valid.end());
  C2R_CHECK(!valid.empty(),
            "no C2R Top-T candidate fits top-k " << k << " and " << experts << " experts");
  return valid;
}

// Collective: every rank's routed experts, in global token order.
RoutingSample gather_sample(RoutingSource& source, const ModelConfig& model,
                            const Communicator& comm, int layer, RoutingMode routing, int top_t) {
  const std::vector<int32_t> mine = source.expert_ids(layer, routing, top_t);
  const std::vector<int64_t> all = comm.allgather(std::vector<int64_t>(mine.begin(), mine.end()));
  RoutingSample sample;
  sample.experts = model.experts;
  sample.top_k = model.top_k;
  sample.expert_ids.assign(all.begin(), all.end());
  return sample;
}

// What --cluster names, read before anything is measured or allocated: a described cluster
// (simulation) or a saved profile of this job's ranks; neither without --cluster (this job's
// ranks are measured).
struct ClusterSource {
  std::optional<ClusterModel> described;
  std::optional<ClusterProfile> profile;
};

ClusterSource read_cluster_source(const TuneOptions& o, const ModelConfig& model, DataStore& data,
                                  const Communicator& comm) {
  ClusterSource source;
  if (!o.cluster.empty()) {
    const std::string text = data.text_file(o.cluster);
    on_every_rank(comm, [&] {
      if (is_cluster_spec(text)) {
        source.described = parse_cluster_spec(text, o.cluster);
        C2R_CHECK(!o.validate,
                  "--validate runs layers on this job's ranks; it cannot validate "
                  "the described cluster "
                      << o.cluster);
        return;
      }
      source.profile = parse_cluster_profile(text, o.cluster);
      C2R_CHECK(source.profile->ranks == comm.size(),
                o.cluster << ": cluster profile was measured for " << source.profile->ranks
                          << " ranks; this job has " << comm.size()
                          << " (measure it again with c2rbench topo, or drop --cluster)");
      // The tuning calls the profile this job's ranks: each rank checks that it runs where the
      // profile measured it (only the rank on another host sees the difference).
      char host[256] = {0};
      gethostname(host, sizeof(host) - 1);
      for (const RankPlace& place : source.profile->places) {
        C2R_CHECK(place.rank != comm.rank() || place.host == host,
                  o.cluster << ": cluster profile measured rank " << place.rank << " on host "
                            << place.host << "; this job runs it on " << host
                            << " (measure it again with c2rbench topo, or drop --cluster)");
      }
    });
  }
  if (!source.described) {
    on_every_rank(comm, [&] { check_experts_divide(model.experts, comm.size()); });
  }
  return source;
}

// The cluster: described (simulation), the saved profile, or measured now (with rates
// calibrated on this job's ranks in the last two cases).
ClusterModel resolve_cluster(const TuneOptions& o, ClusterSource source, const ModelConfig& model,
                             const Communicator& comm, json* profile_json) {
  if (source.described) return *source.described;
  const bool saved = source.profile.has_value();
  if (!saved) source.profile = measure_cluster(comm, tune_topology_options());
  *profile_json = source.profile->to_json();
  const ComputeRates rates =
      calibrate_rates(model, o.workload.tokens, comm.size(), o.workload.seed, comm);
  ClusterModel cluster = cluster_model_from_profile(*source.profile, rates);
  if (saved) cluster.name += ", profiled in " + o.cluster;
  return cluster;
}

// Every (layer, routing) is searched once: rank i takes every size-th; results are shared.
void search_everywhere(std::vector<TunedLayer>& layers, const CostModel& model,
                       const SearchOptions& options, const Communicator& comm) {
  const size_t per_layer = layers.front().routings.size();
  auto task_routing = [&](size_t task) -> TunedRouting& {
    return layers[task / per_layer].routings[task % per_layer];
  };
  json mine = json::array();
  on_every_rank(comm, [&] {
    for (size_t task = comm.rank(); task < layers.size() * per_layer; task += comm.size()) {
      const auto start = std::chrono::steady_clock::now();
      const SearchResult found = search_placement(model, task_routing(task).sample, options);
      mine.push_back({{"task", task},
                      {"expert_rank", found.expert_rank},
                      {"method", found.method},
                      {"candidates", found.candidates},
                      {"seed_objective", found.seed_objective},
                      {"warning", found.warning},
                      {"seconds", seconds_since(start)}});
      mark_progress("placement search");  // each search is bounded by --search-seconds
    }
  });
  for (const std::string& text : comm.allgather_strings(mine.dump())) {
    for (const json& found : json::parse(text)) {
      TunedRouting& r = task_routing(found["task"].get<size_t>());
      r.search.expert_rank = found["expert_rank"].get<std::vector<int>>();
      r.search.method = found["method"];
      r.search.candidates = found["candidates"];
      r.search.seed_objective = found["seed_objective"];
      r.search.warning = found["warning"];
      r.search_s = found["seconds"];
    }
  }
}

// Rank 0: every search whose start was not the one its method promised (METIS declined), with
// METIS's error, on stderr so that it is seen even with the tables redirected.
void print_search_warnings(const std::vector<TunedLayer>& layers) {
  for (const TunedLayer& layer : layers) {
    for (const TunedRouting& r : layer.routings) {
      if (r.search.warning.empty()) continue;
      std::cerr << "warning: placement search of layer " << layer.layer << " ("
                << to_string(r.routing)
                << (r.routing == RoutingMode::kC2R ? " T=" + std::to_string(r.top_t) : "")
                << "): " << r.search.warning << " (method " << r.search.method << ")" << std::endl;
    }
  }
}

// Routing statistics of every (layer, routing): vanilla, then C2R at each Top-T, gathered on every
// rank.
std::vector<TunedLayer> gather_routings(const Setup& s, const std::vector<int>& top_ts,
                                        RoutingSource& source, const Communicator& comm) {
  std::vector<std::pair<RoutingMode, int>> routings = {{RoutingMode::kVanilla, 0}};
  for (int t : top_ts) routings.emplace_back(RoutingMode::kC2R, t);
  std::vector<TunedLayer> layers;
  for (int layer : s.layers) {
    TunedLayer tuned;
    tuned.layer = layer;
    for (const auto& [routing, top_t] : routings) {
      TunedRouting r;
      r.routing = routing;
      r.top_t = top_t;
      on_every_rank(comm, [&] {
        r.sample = gather_sample(source, s.model, comm, layer, r.routing, r.top_t);
      });
      tuned.routings.push_back(std::move(r));
    }
    layers.push_back(std::move(tuned));
  }
  return layers;
}

// Every searched placement's prediction, its routing on the contiguous placement, and each layer's
// baseline (vanilla, the baseline strategy, contiguous).
void predict_layers(std::vector<TunedLayer>& layers, const CostModel& tuned_model,
                    const CostModel& baseline_model) {
  const std::vector<int> contiguous =
      contiguous_placement(tuned_model.model().experts, tuned_model.ranks()).expert_rank();
  for (TunedLayer& layer : layers) {
    for (TunedRouting& r : layer.routings) {
      r.search.prediction = tuned_model.predict(r.sample, r.search.expert_rank);
      r.contiguous = tuned_model.predict(r.sample, contiguous);
    }
    layer.baseline = baseline_model.predict(layer.routings.front().sample, contiguous);
  }
}

// Rank 0: the tables, the tuning file, and the `run` line that uses it.
void print_and_write_tuning(const Tuning& tuning, const OutputFile& out, const TopTChoice& choice,
                            const std::string& strategy, const std::string& dtype) {
  print_tuning(std::cout, tuning);
  const std::string out_path = out.write(to_json(tuning).dump(1) + "\n");
  std::cout << "# tuning file: " << out_path << "  (use: c2rbench run --placement " << out_path
            << (choice.routing == RoutingMode::kC2R
                    ? " --routing c2r --top-t " + std::to_string(choice.top_t)
                    : std::string(" --routing vanilla"))
            << " --strategy " << strategy << (dtype == "fp32" ? "" : " --dtype " + dtype)
            << (tuning.overlap == 1 ? "" : " --overlap " + std::to_string(tuning.overlap)) << ")\n"
            << std::flush;
}

// Before anything is allocated or measured: tune's memory per rank against --max-memory, and the
// counts that the cost model keeps in 64 bits and one MPI message carries (the routing samples).
void check_tune_sizes(const TuneOptions& o, const Setup& s, const std::vector<int>& top_ts,
                      bool simulated, int cluster_ranks, int64_t sample_per_rank,
                      const Communicator& comm) {
  TuneMemoryPlan plan;
  on_every_rank(comm, [&] {
    plan.setup = s;
    plan.tokens_per_rank = o.workload.tokens;
    plan.ranks = comm.size();
    plan.measure_cluster = o.cluster.empty();
    plan.calibrate = !simulated;
    plan.sample_per_rank = sample_per_rank;
    plan.layers = static_cast<int>(s.layers.size());
    plan.routings = static_cast<int>(top_ts.size()) + 1;
    if (o.validate) {  // the chosen Top-T is not known yet; the run's size does not depend on it
      const bool c2r = s.routing == RoutingMode::kC2R && !top_ts.empty();
      plan.validation = validation_config(o, s, *s.strategy, s.layers,
                                          c2r ? RoutingMode::kC2R : RoutingMode::kVanilla,
                                          c2r ? top_ts.front() : 0, comm.size());
    }
  });
  check_memory_limit(estimate_tune_memory(plan), o.max_memory,
                     simulated ? "use fewer --sample-tokens or layers"
                               : "use fewer --tokens or layers, a smaller model, or more nodes",
                     comm);
  on_every_rank(comm, [&] {
    const int64_t tokens = o.workload.tokens;
    const int k = s.model.top_k;
    // The deployment's pairs and the padded capacity of the largest factor, counted (a simulation
    // never allocates its tokens) in 64 bits.
    const double largest_factor =
        *std::max_element(o.capacity_factors.begin(), o.capacity_factors.end());
    C2R_CHECK(checked_product({tokens, k, cluster_ranks}) &&
                  largest_factor * static_cast<double>(tokens) * k < 0x1p62,
              "--tokens " << tokens << " per rank over " << cluster_ranks
                          << " ranks: the deployment's (token, expert) pairs and padded slots "
                             "do not fit in 64-bit counts");
    const std::optional<int64_t> routed = checked_mul(sample_per_rank, k);
    C2R_CHECK(routed && *routed <= std::numeric_limits<int>::max(),
              "tune routes " << sample_per_rank << " tokens x top-" << k
                             << " per rank, more (token, expert) pairs than one MPI message "
                                "carries; use fewer "
                             << (simulated ? "--sample-tokens" : "--tokens"));
  });
}

}  // namespace

MemoryEstimate estimate_tune_memory(const TuneMemoryPlan& p) {
  const ModelConfig& m = p.setup.model;
  const int64_t f = sizeof(float), h = m.hidden, e = m.experts, k = m.top_k;
  const int64_t per_rank = p.sample_per_rank;
  const std::optional<int64_t> sample = checked_mul(per_rank, p.ranks);  // every rank's tokens
  // Routing this rank's tokens of one layer: the pair trace's sampled pairs (and its cumulative
  // pair weights), or the workload's tokens with the router, its group centres, the logits kept
  // per layer, the chosen experts and their weights, and a profiled co-activation (C2R without a
  // published list); then the chosen experts of every rank gathered.
  const double route = (uses_pair_trace(m, p.setup.workload)
                            ? bytes_of(per_rank, {2, sizeof(int32_t)}) + product_bytes({e, e, 16})
                            : bytes_of(per_rank, {h + e + 2 * k, f}) + product_bytes({2, h, e, f}) +
                                  product_bytes({e, e, 12})) +
                       bytes_of(per_rank, {k, sizeof(int64_t)}) +
                       bytes_of(sample, {k, sizeof(int64_t)});
  // The swap search runs on a subsample (its experts and each expert's tokens), besides the
  // co-activation and METIS's graph.
  const int64_t swap_tokens =
      std::min(sample.value_or(INT64_MAX), SearchOptions{}.max_swap_tokens + p.ranks);
  std::vector<std::pair<std::string, double>> steps = {
      {"routing the sampled tokens", route},
      {"placement search", product_bytes({swap_tokens, k, sizeof(int32_t) + sizeof(int64_t)}) +
                               product_bytes({e, e, 16})},
  };
  if (p.measure_cluster) {
    steps.emplace_back("measuring the cluster",
                       estimate_topology_memory(tune_topology_options(), p.ranks).total_bytes);
  }
  if (p.calibrate) {
    steps.emplace_back("rate calibration", calibration_bytes(m, p.tokens_per_rank, p.ranks));
  }
  if (p.validation) {
    // The runs, and before them the search for the worst placement on the whole sample.
    steps.emplace_back("validation runs", estimate_rank_memory(*p.validation).total_bytes +
                                              bytes_of(sample, {k, sizeof(int64_t)}));
  }
  const auto largest = std::max_element(
      steps.begin(), steps.end(), [](const auto& a, const auto& b) { return a.second < b.second; });
  MemoryEstimate estimate;
  estimate.items = {
      {"routing samples of " + std::to_string(p.layers) + " layer(s) x " +
           std::to_string(p.routings) + " routing(s), kept throughout",
       bytes_of(sample, {k, sizeof(int32_t), p.layers, p.routings})},
      {largest->first + " (the largest step)", largest->second},
  };
  finish_estimate(estimate);
  return estimate;
}

int tune_command(const TuneOptions& o, const std::vector<std::string>& argv,
                 const Communicator& comm) {
  const auto started = std::chrono::steady_clock::now();
  // A user's trace (--trace) makes the model: read before the options are resolved.
  DataStore data(comm, data_directory(o.workload));
  const RoutingTrace* trace = read_user_trace(o.workload, data);
  Setup s;
  on_every_rank(comm, [&] { s = resolve_setup(o, trace); });
  set_blas_threads(o.process.blas_threads);

  // Top-T candidates and the trace data of every (layer, routing) are checked before anything is
  // measured.
  std::vector<int> top_ts;
  on_every_rank(comm, [&] {
    RoutingSource files(s.model, s.workload, 0, 0, comm, data);  // which data there is, no tokens
    top_ts = top_t_candidates(o, s, files, data);
    for (int layer : s.layers) {
      files.check_data(layer, RoutingMode::kVanilla, 0);
      for (int t : top_ts) files.check_data(layer, RoutingMode::kC2R, t);
    }
  });

  const ClusterSource cluster_source = read_cluster_source(o, s.model, data, comm);
  const bool simulated = cluster_source.described.has_value();
  const int cluster_ranks = simulated ? cluster_source.described->ranks : comm.size();
  on_every_rank(comm, [&] {
    C2R_CHECK(s.model.experts >= cluster_ranks,
              "infeasible balance: " << s.model.experts << " experts over " << cluster_ranks
                                     << " ranks leaves ranks without an expert (every placement "
                                        "places each expert once before any replica)");
    check_experts_divide(s.model.experts, cluster_ranks);
    for (int n : o.replicas) {
      C2R_CHECK((s.model.experts + n) % cluster_ranks == 0,
                "--replicas " << n << ": " << s.model.experts << " experts + " << n
                              << " replicas do not divide over " << cluster_ranks
                              << " ranks (every rank holds the same number of expert slots)");
    }
  });

  // Routing statistics: this job's own tokens (live), or a sample spread over the cluster, its
  // tokens shared out over this job's ranks (rounded up).
  const int64_t sample_wanted = std::max<int64_t>(o.sample_tokens, int64_t{16} * cluster_ranks);
  const int64_t sample_per_rank =
      simulated ? sample_wanted / comm.size() + (sample_wanted % comm.size() != 0)
                : o.workload.tokens;
  check_tune_sizes(o, s, top_ts, simulated, cluster_ranks, sample_per_rank, comm);
  // A simulated cluster's statistics come from a sample: with few of its pairs per (rank, expert),
  // padded capacity is sized on lumpy counts (each sampled pair stands for many) and the
  // predicted drops and rank imbalance are overstated.
  const double sample_pairs_per_link =
      static_cast<double>(sample_wanted) / cluster_ranks * s.model.top_k / s.model.experts;
  if (simulated && sample_pairs_per_link < 4.0 && comm.rank() == 0) {
    const int64_t enough = static_cast<int64_t>(
        std::ceil(4.0 * cluster_ranks * s.model.experts / std::max(s.model.top_k, 1)));
    std::cerr << "warning: the simulation routes " << sample_wanted / cluster_ranks
              << " sampled token(s) per simulated rank, " << sample_pairs_per_link
              << " (token, expert) pairs per (rank, expert) on average: too few to predict padded "
                 "capacity drops and rank imbalance (both come out too high); --sample-tokens "
              << enough << " gives 4" << std::endl;
  }
  const OutputFile out = choose_output_file(o.process.out, "c2rbench-tune", comm);

  json profile_json;  // the measured profile the cluster model came from (null: described)
  const ClusterModel cluster = resolve_cluster(o, cluster_source, s.model, comm, &profile_json);
  const int64_t sample_tokens = sample_per_rank * comm.size();  // checked by check_tune_sizes
  RoutingSource source(s.model, s.workload, comm.rank() * sample_per_rank, sample_per_rank, comm,
                       data);
  std::vector<TunedLayer> layers = gather_routings(s, top_ts, source, comm);
  if (comm.rank() == 0 && !o.process.quiet) {
    std::cerr << "[tune] routed " << layers.size() << " layer(s) x " << top_ts.size() + 1
              << " routing(s); searching" << std::endl;
  }

  const PayloadType dtype = parse_payload_type(o.dtype);
  const CostModel baseline_model(cluster, s.model, o.workload.tokens, baseline_strategy(), 1.0,
                                 sample_tokens, dtype);
  const CostModel tuned_model(cluster, s.model, o.workload.tokens, *s.strategy, 1.0, sample_tokens,
                              dtype);
  SearchOptions search_options;
  search_options.seed = o.workload.seed;
  search_options.time_limit_s = o.search_seconds;
  const auto search_start = std::chrono::steady_clock::now();
  search_everywhere(layers, tuned_model, search_options, comm);
  const double search_seconds = seconds_since(search_start);
  if (comm.rank() == 0) print_search_warnings(layers);
  predict_layers(layers, tuned_model, baseline_model);

  // Top-T: the best predicted model time whose every layer stays under --max-imbalance.
  TopTChoice choice = choose_top_t(layers, o.max_imbalance);
  // Capacity factor of the capacity-limited exchange under the chosen routing.
  CapacityChoice capacity =
      choose_capacity(layers, choice.index, cluster, s.model, o.workload.tokens, sample_tokens,
                      o.capacity_factors, o.max_drop);

  // Pipeline degree of the tuned exchange under the chosen routing and placements.
  const OverlapChoice overlap = choose_overlap(layers, choice.index, tuned_model, o.overlap);
  // Redundant experts under the chosen routing, at the chosen degree.
  ReplicaChoice replicas;
  on_every_rank(comm, [&] {
    replicas = choose_replicas(layers, choice.index, tuned_model.with_overlap(overlap.overlap),
                               o.replicas, eplb_shape_of(cluster, s.model.experts));
  });

  const TuneRequestEcho echo{o.workload.tokens, o.strategy, o.max_imbalance, o.max_drop};
  Tuning tuning = make_tuning(echo, s.model, s.workload, cluster, profile_json, layers, choice,
                              capacity, overlap, replicas);
  tuning.created = TuningCreated{argv, C2R_VERSION, C2R_GIT_SHA, o.process.options};
  tuning.search_seconds = search_seconds;
  if (o.validate) {
    const ValidationRequest request{o, s, *s.strategy, layers, choice, replicas, cluster};
    tuning.validation = validate_predictions(request, data, comm);
  }
  tuning.total_seconds = seconds_since(started);
  on_every_rank(comm, [&] {
    if (comm.rank() == 0) print_and_write_tuning(tuning, out, choice, o.strategy, o.dtype);
  });
  return 0;
}

}  // namespace c2r
