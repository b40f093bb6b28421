#pragma once
// The tuning file (schema "c2rbench.tuning", version 1) as a value: `c2rbench tune` fills a Tuning,
// the tables and the HTML page read one; JSON appears only where the file is written or read.
// Field names below are the file's keys; "_us" fields are microseconds.

#include <array>
#include <cmath>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "results/phase.hpp"

namespace c2r {

// NaN stands for a number the file does not hold (absent or null): printed as "-".
constexpr double kNoNumber = NAN;

// Predicted (cost model) or measured times of one layer run: "<phase>_us" of kReportedPhases,
// with the traffic and load the times come from.
struct PhaseTimes {
  std::array<double, kNumResultPhases> us{};  // [Phase]; only kReportedPhases are in the file
  double remote_bytes = 0.0;
  double rank_imbalance = 0.0;
  std::optional<double> dropped_fraction;  // predictions only: a measurement counts its bytes
  double& at(Phase phase) { return us[static_cast<int>(phase)]; }
  double at(Phase phase) const { return us[static_cast<int>(phase)]; }
  double exchange_us() const { return at(Phase::kDispatch) + at(Phase::kCombine); }
};

// One routing candidate of one layer: its tuned placement and the predictions.
struct TuningRouting {
  std::string routing;
  std::optional<int> top_t;  // C2R only
  std::vector<int> expert_rank;
  std::string method;
  PhaseTimes tuned, contiguous;
};

// One layer under the chosen routing, with every routing candidate.
struct TuningLayer {
  int layer = 0;
  std::vector<int> expert_rank;  // [experts]
  std::string method;            // "exhaustive", "metis+swap" or "round-robin+swap"
  double candidates = 0.0;       // placements evaluated
  double search_ms = 0.0;
  std::optional<double> seed_objective_us;  // the +swap methods only
  PhaseTimes baseline, contiguous, tuned;   // "predicted"
  std::vector<TuningRouting> routings;
  // With redundant experts chosen ("replicas" > 0): the replicated placement `run --placement`
  // uses, [R][slots per rank], how it was made ("eplb" or "tuned+replicas"), and "predicted.tuned"
  // is its prediction; expert_rank stays the co-located placement it may start from.
  std::vector<std::vector<int>> rank_experts;
  std::string replica_method;
};

struct TopTRow {
  std::string routing;
  std::optional<int> top_t;
  double layer_us = 0, dispatch_combine_us = 0, remote_bytes = 0, max_rank_imbalance = 0;
  bool within_limit = false, chosen = false;
};

struct CapacityRow {
  double capacity_factor = 0, max_dropped_fraction = 0, mean_dropped_fraction = 0;
  double layer_us = 0, dispatch_combine_us = 0;
  bool within_limit = false, chosen = false;
};

// One pipeline degree weighed (run --overlap): the predicted model time with the chosen routing
// and the tuned placements.
struct OverlapRow {
  int overlap = 1;
  double layer_us = 0, dispatch_combine_us = 0;
  bool chosen = false;
};

// One count of redundant experts weighed (tune --replicas): the predicted model time with the
// chosen routing, each layer on the better of EPLB and the tuned placement plus replicas.
struct ReplicaRow {
  int replicas = 0;
  double layer_us = 0, dispatch_combine_us = 0, max_rank_imbalance = 0, remote_bytes = 0;
  double weight_bytes_per_rank = 0;  // the replicas' expert weights on each rank (fp32)
  int eplb_layers = 0;               // layers where EPLB beat the tuned placement plus replicas
  bool chosen = false;
};

struct LinkSummary {
  double latency_us = 0, bandwidth_GBps = 0;
};

// The cluster model the predictions used, as the tuner's ClusterModel writes it.
struct TuningCluster {
  std::string name, origin;
  int ranks = 0, nodes = 0;
  std::vector<int> node_of_rank;
  LinkSummary intra_node, inter_node;
  double expert_gflops = 0, router_gflops = 0, copy_GBps = 0;  // "rates"
  std::string rates_source;
  nlohmann::json sources = nlohmann::json::array();  // every figure and its source, passed on
  // "rates.expert_call_us": the fixed time of one expert's GEMMs (absent in older files).
  std::optional<double> expert_call_us;
  // "rates.expert_alone_gflops": the expert rate of one rank computing alone (absent in older
  // files).
  std::optional<double> expert_alone_gflops;
  // "rates.scatter_GBps": the unpermute's weighted row sums (absent in older files).
  std::optional<double> scatter_GBps;
};

// Model totals (sums over layers) of the chosen routing.
struct TuningSummary {
  int layers = 0;
  double baseline_layer_us = 0, contiguous_layer_us = 0, tuned_layer_us = 0;
  double baseline_dispatch_combine_us = 0, contiguous_dispatch_combine_us = 0,
         tuned_dispatch_combine_us = 0;
  double predicted_speedup_vs_baseline = 0, predicted_speedup_vs_contiguous = 0;
};

// One validation run: a placement of a layer, predicted against measured.
struct ValidationPoint {
  int layer = 0;
  std::string routing;
  std::optional<int> top_t;
  std::string strategy, placement;
  int overlap = 1;  // token chunks the layer was pipelined over
  bool baseline = false;
  std::vector<int> expert_rank;
  std::vector<std::vector<int>> rank_experts;  // replicated placements instead of expert_rank
  PhaseTimes predicted, measured;
};

// Measured exchange and layer time of a layer's baseline, contiguous and tuned cells (each absent
// when that cell was not run).
struct MeasuredGain {
  int layer = 0;
  std::optional<double> baseline_dispatch_combine_us, baseline_layer_us;
  std::optional<double> contiguous_dispatch_combine_us, contiguous_layer_us;
  std::optional<double> tuned_dispatch_combine_us, tuned_layer_us;
};

// `tune --validate`: the cost model against measurements.
struct Validation {
  int iterations = 0, warmup = 0;  // of each cell
  // Interleaved rounds, each running every cell once (= iterations); 0 when the cells ran one
  // after another (--order sequential) and in older files.
  int rounds = 0;
  std::vector<ValidationPoint> points;
  // Of the layer time, over the points measured above 0.
  double spearman_layer = 0.0;
  // Phase name -> mean |pred - meas| / meas over the points whose phase was measured above 0 (a
  // phase measured 0 has no relative error), and how many points that mean is over.
  std::map<std::string, double> mean_abs_error;
  std::map<std::string, int> error_points;
  std::vector<MeasuredGain> measured_gain;
  double spearman_min = 0.8, layer_mae_max = 0.2;  // "targets"
  bool met = false;
};

// Who wrote the file.
struct TuningCreated {
  std::vector<std::string> argv;
  std::string version, git_sha;
  // Every option of `tune` as it ran, by name (`tune --config-from` repeats them); may be empty.
  nlohmann::json options = nlohmann::json::object();
};

struct Tuning {
  // What was tuned for: echoes of the model and workload (their own schemas, passed on).
  nlohmann::json model = nlohmann::json::object();
  std::string model_preset;  // model.preset
  int top_k = 0;             // model.top_k
  int experts = 0, ranks = 0;
  int64_t tokens_per_rank = 0;
  nlohmann::json workload = nlohmann::json::object();
  std::string strategy;
  // The choices.
  std::string routing;
  std::optional<int> top_t;  // C2R only
  bool top_t_within_limit = true;
  double capacity_factor = 0.0;
  bool capacity_within_limit = true;
  int overlap = 1;   // the pipeline degree with the lowest predicted time (files without it: 1)
  int replicas = 0;  // redundant experts chosen (files without it: 0)
  double max_imbalance = 0.0, max_drop = 0.0;  // "limits"
  TuningCluster cluster;
  nlohmann::json profile;  // the measured cluster profile (null: a described cluster)
  std::vector<TuningLayer> layers;
  std::vector<TopTRow> top_t_table;
  std::vector<CapacityRow> capacity_table;
  std::vector<OverlapRow> overlap_table;
  std::vector<ReplicaRow> replica_table;
  TuningSummary summary;
  // Added by the command.
  std::optional<TuningCreated> created;
  std::optional<double> search_seconds, total_seconds;
  std::optional<Validation> validation;
};

nlohmann::json to_json(const PhaseTimes& times);
nlohmann::json to_json(const Validation& validation);
nlohmann::json to_json(const Tuning& tuning);

// Reads a tuning file's JSON; `source` names it in errors. Needs "schema": "c2rbench.tuning" and,
// when "validation" is there, an array of points each with an integer "layer" and numbers
// "predicted.layer_us" and "measured.layer_us" (what the HTML page plots). Other fields may be
// absent (numbers then read as kNoNumber), but one that is there must have its type. Throws
// c2r::Error naming `source` and the field.
Tuning tuning_from_json(const nlohmann::json& file, const std::string& source);

}  // namespace c2r
