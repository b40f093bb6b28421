#include "cli/tune_command.hpp"

#include <algorithm>
#include <array>
#include <chrono>
#include <cmath>
#include <iostream>
#include <optional>

#include "bench/context.hpp"
#include "bench/harness.hpp"
#include "bench/routing_source.hpp"
#include "cli/options.hpp"
#include "cli/tune_validate.hpp"
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

// Repetitions of each calibration, the median kept: a busy machine makes single runs vary by tens
// of percent.
constexpr int kExpertRepetitions = 5;
constexpr int kRouterRepetitions = 9;
constexpr int kCopyRepetitions = 9;

// The rates of this job's ranks at the model's shapes, all ranks computing at once (as in a layer).
ComputeRates calibrate_rates(const ModelConfig& model, int64_t tokens_per_rank, int ranks,
                             uint64_t seed, const Communicator& comm) {
  const int hidden = model.hidden;
  // Rows one expert computes in a layer of this size.
  const int64_t rows =
      std::clamp<int64_t>(tokens_per_rank * model.top_k * ranks / model.experts, 16, 4096);
  const int64_t tokens = std::max<int64_t>(tokens_per_rank, 16);
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

Setup resolve_setup(const TuneOptions& o) {
  Setup s;
  static_cast<WorkloadSetup&>(s) = resolve_workload(o.workload);
  resolve_process(o.process);
  const std::string layer_text = !o.layer.empty()                          ? o.layer
                                 : s.workload.kind == WorkloadKind::kTrace ? "all"
                                                                           : "0";
  s.layers = parse_layers(layer_text, s.model, s.workload.kind);
  s.strategy = &find_strategy(o.strategy);
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

// The cluster: described (simulation), a saved profile of this job's ranks, or measured now (with
// rates calibrated on this job's ranks in the last two cases).
ClusterModel resolve_cluster(const TuneOptions& o, const ModelConfig& model, DataStore& data,
                             const Communicator& comm, json* profile_json) {
  std::optional<ClusterProfile> profile;
  if (!o.cluster.empty()) {
    const std::string text = data.text_file(o.cluster);
    std::optional<ClusterModel> described;
    on_every_rank(comm, [&] {
      if (is_cluster_spec(text)) {
        described = parse_cluster_spec(text, o.cluster);
        C2R_CHECK(!o.validate,
                  "--validate runs layers on this job's ranks; it cannot validate "
                  "the described cluster "
                      << o.cluster);
        return;
      }
      profile = parse_cluster_profile(text, o.cluster);
      C2R_CHECK(profile->ranks == comm.size(),
                o.cluster << ": cluster profile was measured for " << profile->ranks
                          << " ranks; this job has " << comm.size()
                          << " (measure it again with c2rbench topo, or drop --cluster)");
    });
    if (described) return *described;
  }
  on_every_rank(comm, [&] { check_experts_divide(model.experts, comm.size()); });
  if (!profile) {
    TopologyOptions topo;  // fewer repetitions than `topo`: the tuner needs the fit
    topo.repetitions = 10;
    profile = measure_cluster(comm, topo);
  }
  *profile_json = profile->to_json();
  const ComputeRates rates =
      calibrate_rates(model, o.workload.tokens, comm.size(), o.workload.seed, comm);
  return cluster_model_from_profile(*profile, rates);
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

// Rank 0, which writes the tuning file, checks where before anything runs: --out must be a new
// file in a writable directory; the default is a fresh name under results/, taken when written.
OutputFile choose_tuning_file(const std::string& out, const Communicator& comm) {
  OutputFile file;
  on_every_rank(comm, [&] {
    if (comm.rank() != 0) return;
    file = out.empty() ? OutputFile::fresh("results", "c2rbench-tune-" + timestamp_for_filename())
                       : OutputFile::given(out, "--out");
  });
  return file;
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
                            const std::string& strategy) {
  print_tuning(std::cout, tuning);
  const std::string out_path = out.write(to_json(tuning).dump(1) + "\n");
  std::cout << "# tuning file: " << out_path << "  (use: c2rbench run --placement " << out_path
            << (choice.routing == RoutingMode::kC2R
                    ? " --routing c2r --top-t " + std::to_string(choice.top_t)
                    : std::string(" --routing vanilla"))
            << " --strategy " << strategy << ")\n"
            << std::flush;
}

}  // namespace

int tune_command(const TuneOptions& o, const std::vector<std::string>& argv,
                 const Communicator& comm) {
  const auto started = std::chrono::steady_clock::now();
  Setup s;
  on_every_rank(comm, [&] { s = resolve_setup(o); });
  DataStore data(comm, s.data_dir);
  set_blas_threads(o.process.blas_threads);

  // Top-T candidates (and their data files) are checked before anything is measured.
  std::vector<int> top_ts;
  on_every_rank(comm, [&] {
    const int64_t tokens = o.workload.tokens;
    const RoutingSource files(s.model, s.workload, comm.rank() * tokens, tokens, comm, data);
    top_ts = top_t_candidates(o, s, files, data);
  });
  const OutputFile out = choose_tuning_file(o.process.out, comm);

  json profile_json;  // the measured profile the cluster model came from (null: described)
  const ClusterModel cluster = resolve_cluster(o, s.model, data, comm, &profile_json);
  const bool simulated = cluster.origin == "described";
  on_every_rank(comm, [&] {
    C2R_CHECK(s.model.experts >= cluster.ranks,
              "infeasible balance: " << s.model.experts << " experts over " << cluster.ranks
                                     << " ranks leaves ranks without an expert (c2rbench does "
                                        "not replicate experts)");
    check_experts_divide(s.model.experts, cluster.ranks);
  });

  // Routing statistics: this job's own tokens (live), or a sample spread over the cluster.
  const int64_t sample_per_rank =
      simulated ? (std::max<int64_t>(o.sample_tokens, 16LL * cluster.ranks) + comm.size() - 1) /
                      comm.size()
                : o.workload.tokens;
  const int64_t sample_tokens = sample_per_rank * comm.size();
  RoutingSource source(s.model, s.workload, comm.rank() * sample_per_rank, sample_per_rank, comm,
                       data);
  std::vector<TunedLayer> layers = gather_routings(s, top_ts, source, comm);
  if (comm.rank() == 0 && !o.process.quiet) {
    std::cerr << "[tune] routed " << layers.size() << " layer(s) x " << top_ts.size() + 1
              << " routing(s); searching" << std::endl;
  }

  const CostModel baseline_model(cluster, s.model, o.workload.tokens, baseline_strategy(), 1.0,
                                 sample_tokens);
  const CostModel tuned_model(cluster, s.model, o.workload.tokens, *s.strategy, 1.0, sample_tokens);
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

  const TuneRequestEcho echo{o.workload.tokens, o.strategy, o.max_imbalance, o.max_drop};
  Tuning tuning =
      make_tuning(echo, s.model, s.workload, cluster, profile_json, layers, choice, capacity);
  tuning.created = TuningCreated{argv, C2R_VERSION, C2R_GIT_SHA};
  tuning.search_seconds = search_seconds;
  if (o.validate) {
    const ValidationRequest request{o, s, *s.strategy, layers, choice, cluster};
    tuning.validation = validate_predictions(request, comm);
  }
  tuning.total_seconds = seconds_since(started);
  on_every_rank(comm, [&] {
    if (comm.rank() == 0) print_and_write_tuning(tuning, out, choice, o.strategy);
  });
  return 0;
}

}  // namespace c2r
