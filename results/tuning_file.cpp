#include "results/tuning_file.hpp"

#include <map>

#include "common/error.hpp"
#include "common/json_fields.hpp"

namespace c2r {

using nlohmann::json;

namespace {

// A number the file may lack: NaN, which nlohmann writes as null.
json number_or_null(double value) {
  return std::isfinite(value) ? json(value) : json();
}
json top_t_json(const std::optional<int>& top_t) {
  return top_t ? json(*top_t) : json();
}

// Checked reads: a field that is absent (or null, for numbers) takes its default; one that is there
// must have its type. `where` names the file and the object.
class Fields {
 public:
  Fields(const json& object, std::string where) : object_(object), where_(std::move(where)) {
    C2R_CHECK(object_.is_null() || object_.is_object(), where_ << " must be an object");
  }
  bool has(const char* key) const { return object_.is_object() && object_.contains(key); }
  const json& at(const char* key) const {
    static const json kNull;
    return has(key) ? object_[key] : kNull;
  }
  std::string path(const char* key) const { return where_ + "." + key; }
  Fields sub(const char* key) const { return Fields(at(key), path(key)); }

  double number(const char* key) const {
    const json& v = at(key);
    if (v.is_null()) return kNoNumber;
    C2R_CHECK(v.is_number(), where_ << ": \"" << key << "\" must be a number");
    return v.get<double>();
  }
  // A time, count, size or rate: every number the file holds but a correlation is at least 0.
  double non_negative(const char* key) const {
    const double v = number(key);
    C2R_CHECK(std::isnan(v) || v >= 0.0,
              where_ << ": \"" << key << "\" must be a non-negative number, not " << v);
    return v;
  }
  std::optional<double> optional_non_negative(const char* key) const {
    if (!has(key)) return std::nullopt;
    return non_negative(key);
  }
  double in_range(const char* key, double lo, double hi) const {
    const double v = number(key);
    C2R_CHECK(std::isnan(v) || (v >= lo && v <= hi), where_ << ": \"" << key
                                                            << "\" must be a number from " << lo
                                                            << " to " << hi << ", not " << v);
    return v;
  }
  std::optional<double> optional_fraction(const char* key) const {
    if (!has(key)) return std::nullopt;
    return in_range(key, 0.0, 1.0);
  }
  // An integer of at least `lo` (0 when absent).
  int at_least(const char* key, int lo, const char* what) const {
    if (!has(key)) return 0;
    return int_field(object_, key, lo, INT32_MAX, where_, what);
  }
  int index(const char* key) const { return at_least(key, 0, "a non-negative integer"); }
  std::optional<int> optional_index(const char* key) const {
    if (at(key).is_null()) return std::nullopt;
    return index(key);
  }
  // Indexes into something of `size` entries (ranks, nodes); any non-negative one when size is 0
  // (not known).
  std::vector<int> indexes(const char* key, int size) const {
    std::vector<int> out;
    for (size_t i = 0; i < list(key).size(); ++i) {
      const json& v = at(key)[i];
      C2R_CHECK(is_integer_in(v, 0, size > 0 ? size - 1 : INT32_MAX),
                where_ << ": \"" << key << "\" holds " << v.dump() << ", not an index below "
                       << (size > 0 ? std::to_string(size) : std::string("2^31")));
      out.push_back(v.get<int>());
    }
    return out;
  }
  int64_t integer64(const char* key) const {
    if (!has(key)) return 0;
    C2R_CHECK(is_integer_in(at(key), INT64_MIN, INT64_MAX),
              where_ << ": \"" << key << "\" must be an integer");
    return at(key).get<int64_t>();
  }
  bool flag(const char* key, bool fallback) const {
    if (!has(key)) return fallback;
    C2R_CHECK(at(key).is_boolean(), where_ << ": \"" << key << "\" must be true or false");
    return at(key).get<bool>();
  }
  std::string text(const char* key) const { return string_field(object_, key, "", where_); }
  // The elements of an array field (none when absent), each with its `where`.
  const json& list(const char* key) const {
    static const json kEmpty = json::array();
    if (!has(key)) return kEmpty;
    C2R_CHECK(at(key).is_array(), where_ << ": \"" << key << "\" must be an array");
    return at(key);
  }
  Fields element(const char* key, size_t i) const {
    return Fields(list(key)[i], where_ + "." + key + "[" + std::to_string(i) + "]");
  }
  size_t count(const char* key) const { return list(key).size(); }

 private:
  const json& object_;
  std::string where_;
};

PhaseTimes phase_times_from(const Fields& f) {
  PhaseTimes t;
  for (Phase phase : kReportedPhases) {
    t.at(phase) = f.non_negative((std::string(phase_name(phase)) + "_us").c_str());
  }
  t.remote_bytes = f.non_negative("remote_bytes");
  t.rank_imbalance = f.non_negative("rank_imbalance");
  t.dropped_fraction = f.optional_fraction("dropped_fraction");
  return t;
}

// What the file's placements are for: expert_rank lists hold `experts` ranks below `ranks` (each
// 0 when the file does not say).
struct Shape {
  int experts = 0, ranks = 0;
};

std::vector<int> expert_rank_from(const Fields& f, const Shape& shape) {
  std::vector<int> owners = f.indexes("expert_rank", shape.ranks);
  C2R_CHECK(
      owners.empty() || shape.experts == 0 || static_cast<int>(owners.size()) == shape.experts,
      f.path("expert_rank") << " has " << owners.size() << " entries for " << shape.experts
                            << " experts");
  return owners;
}

// A replicated placement's "rank_experts": `ranks` lists of expert ids below `experts` (either 0:
// not known); empty when absent.
std::vector<std::vector<int>> rank_experts_from(const Fields& f, const Shape& shape) {
  std::vector<std::vector<int>> lists;
  C2R_CHECK(f.count("rank_experts") == 0 || shape.ranks == 0 ||
                static_cast<int>(f.count("rank_experts")) == shape.ranks,
            f.path("rank_experts")
                << " has " << f.count("rank_experts") << " lists for " << shape.ranks << " ranks");
  for (size_t r = 0; r < f.count("rank_experts"); ++r) {
    const json& list = f.list("rank_experts")[r];
    C2R_CHECK(list.is_array(), f.path("rank_experts") << " must hold arrays of expert ids");
    lists.push_back(
        Fields(json{{"ids", list}}, f.path("rank_experts")).indexes("ids", shape.experts));
  }
  return lists;
}

TuningRouting routing_from(const Fields& f, const Shape& shape) {
  return {
      f.text("routing"), f.optional_index("top_t"),        expert_rank_from(f, shape),
      f.text("method"),  phase_times_from(f.sub("tuned")), phase_times_from(f.sub("contiguous"))};
}

TuningLayer layer_from(const Fields& f, const Shape& shape) {
  TuningLayer l;
  l.layer = f.index("layer");
  l.expert_rank = expert_rank_from(f, shape);
  l.method = f.text("method");
  l.candidates = f.non_negative("candidates");
  l.search_ms = f.non_negative("search_ms");
  l.seed_objective_us = f.optional_non_negative("seed_objective_us");
  const Fields predicted = f.sub("predicted");
  l.baseline = phase_times_from(predicted.sub("baseline"));
  l.contiguous = phase_times_from(predicted.sub("contiguous"));
  l.tuned = phase_times_from(predicted.sub("tuned"));
  l.rank_experts = rank_experts_from(f, shape);
  if (f.has("replica_method")) l.replica_method = f.text("replica_method");
  for (size_t i = 0; i < f.count("routings"); ++i) {
    l.routings.push_back(routing_from(f.element("routings", i), shape));
  }
  return l;
}

TuningCluster cluster_from(const Fields& f) {
  TuningCluster c;
  c.name = f.text("name");
  c.origin = f.text("origin");
  c.ranks = f.index("ranks");
  c.nodes = f.index("nodes");
  c.node_of_rank = f.indexes("node_of_rank", c.nodes);
  C2R_CHECK(
      c.node_of_rank.empty() || c.ranks == 0 || static_cast<int>(c.node_of_rank.size()) == c.ranks,
      f.path("node_of_rank") << " has " << c.node_of_rank.size() << " entries for " << c.ranks
                             << " ranks");
  for (auto [key, link] : {std::pair{"intra_node", &c.intra_node}, {"inter_node", &c.inter_node}}) {
    const Fields l = f.sub(key);
    *link = {l.non_negative("latency_us"), l.non_negative("bandwidth_GBps")};
  }
  const Fields rates = f.sub("rates");
  c.expert_gflops = rates.non_negative("expert_gflops");
  c.router_gflops = rates.non_negative("router_gflops");
  c.copy_GBps = rates.non_negative("copy_GBps");
  c.rates_source = rates.text("source");
  c.expert_call_us = rates.optional_non_negative("expert_call_us");
  c.expert_alone_gflops = rates.optional_non_negative("expert_alone_gflops");
  c.scatter_GBps = rates.optional_non_negative("scatter_GBps");
  c.sources = f.at("sources").is_null() ? json::array() : f.at("sources");
  return c;
}

// A list with one entry per layer holds `layer` once: a second entry would silently replace the
// first for whoever reads it by layer (run --placement, the tables). `where` names the entry's
// "layer" field, `list` the list.
void check_layer_once(std::map<int, size_t>& seen, int layer, size_t index,
                      const std::string& where, const char* list) {
  const auto [first, added] = seen.emplace(layer, index);
  C2R_CHECK(added, where << ": layer " << layer << " is already " << list << "[" << first->second
                         << "]; a file holds each layer once");
}

// The points keep parse_report_tuning's checks and messages: the HTML page plots them.
ValidationPoint point_from(const json& p, const std::string& where, const Shape& shape) {
  C2R_CHECK(p.is_object() && p.contains("layer") && is_int(p["layer"]),
            where << " needs an integer \"layer\"");
  for (const char* side : {"predicted", "measured"}) {
    C2R_CHECK(p.contains(side) && p[side].is_object() && p[side].contains("layer_us") &&
                  is_finite_number(p[side]["layer_us"]),
              where << "." << side << ".layer_us must be a number");
  }
  const Fields f(p, where);
  ValidationPoint v;
  v.layer = f.index("layer");
  v.routing = f.text("routing");
  v.top_t = f.optional_index("top_t");
  v.strategy = f.text("strategy");
  v.placement = f.text("placement");
  v.overlap = f.has("overlap") ? f.at_least("overlap", 1, "a positive integer") : 1;
  v.baseline = f.flag("baseline", false);
  v.expert_rank = expert_rank_from(f, shape);
  v.rank_experts = rank_experts_from(f, shape);
  v.predicted = phase_times_from(f.sub("predicted"));
  v.measured = phase_times_from(f.sub("measured"));
  return v;
}

Validation validation_from(const json& validation, const std::string& source, const Shape& shape) {
  C2R_CHECK(
      validation.is_object() && validation.contains("points") && validation["points"].is_array(),
      source << ": validation must be an object with an array \"points\"");
  C2R_CHECK(
      !validation.contains("spearman_layer") || is_finite_number(validation["spearman_layer"]),
      source << ": validation.spearman_layer must be a number");
  const Fields f(validation, source + ": validation");
  Validation v;
  v.iterations = f.index("iterations");
  v.warmup = f.index("warmup");
  v.rounds = f.index("rounds");
  const json& points = validation["points"];
  for (size_t i = 0; i < points.size(); ++i) {
    const std::string where = source + ": validation.points[" + std::to_string(i) + "]";
    v.points.push_back(point_from(points[i], where, shape));
  }
  // A rank correlation: the one number of the file that may be below 0.
  v.spearman_layer = f.has("spearman_layer") ? f.in_range("spearman_layer", -1.0, 1.0) : 0.0;
  const Fields mae = f.sub("mean_abs_error");
  if (f.has("mean_abs_error")) {
    for (const auto& [phase, error] : f.at("mean_abs_error").items()) {
      v.mean_abs_error[phase] = mae.non_negative(phase.c_str());
    }
  }
  // Files written before the counts were recorded have none: the phases then show no count.
  if (f.has("error_points")) {
    C2R_CHECK(f.at("error_points").is_object(),
              source << ": validation.error_points must be an object");
    const Fields counts = f.sub("error_points");
    for (const auto& [phase, count] : f.at("error_points").items()) {
      v.error_points[phase] = counts.index(phase.c_str());
    }
  }
  std::map<int, size_t> gain_of_layer;
  for (size_t i = 0; i < f.count("measured_gain"); ++i) {
    const Fields g = f.element("measured_gain", i);
    MeasuredGain gain;
    gain.layer = g.index("layer");
    check_layer_once(gain_of_layer, gain.layer, i, g.path("layer"), "measured_gain");
    gain.baseline_dispatch_combine_us = g.optional_non_negative("baseline_dispatch_combine_us");
    gain.baseline_layer_us = g.optional_non_negative("baseline_layer_us");
    gain.contiguous_dispatch_combine_us = g.optional_non_negative("contiguous_dispatch_combine_us");
    gain.contiguous_layer_us = g.optional_non_negative("contiguous_layer_us");
    gain.tuned_dispatch_combine_us = g.optional_non_negative("tuned_dispatch_combine_us");
    gain.tuned_layer_us = g.optional_non_negative("tuned_layer_us");
    v.measured_gain.push_back(gain);
  }
  const Fields targets = f.sub("targets");
  v.spearman_min = targets.in_range("spearman_min", -1.0, 1.0);
  v.layer_mae_max = targets.non_negative("layer_mae_max");
  v.met = targets.flag("met", false);
  return v;
}

void put_optional(json& object, const char* key, const std::optional<double>& value) {
  if (value) object[key] = number_or_null(*value);
}

}  // namespace

json to_json(const PhaseTimes& t) {
  json j;
  for (Phase phase : kReportedPhases) {
    j[std::string(phase_name(phase)) + "_us"] = number_or_null(t.at(phase));
  }
  // A measurement's bytes were counted: an integer in the file, as the run's report has them.
  const bool counted = !t.dropped_fraction && std::isfinite(t.remote_bytes) &&
                       t.remote_bytes == std::floor(t.remote_bytes) &&
                       std::abs(t.remote_bytes) < 9e18;
  j["remote_bytes"] =
      counted ? json(static_cast<int64_t>(t.remote_bytes)) : number_or_null(t.remote_bytes);
  j["rank_imbalance"] = number_or_null(t.rank_imbalance);
  put_optional(j, "dropped_fraction", t.dropped_fraction);
  return j;
}

json to_json(const Validation& v) {
  json points = json::array();
  for (const auto& p : v.points) {
    points.push_back({{"layer", p.layer},
                      {"routing", p.routing},
                      {"top_t", top_t_json(p.top_t)},
                      {"strategy", p.strategy},
                      {"placement", p.placement},
                      {"overlap", p.overlap},
                      {"baseline", p.baseline},
                      {"expert_rank", p.expert_rank},
                      {"predicted", to_json(p.predicted)},
                      {"measured", to_json(p.measured)}});
    if (!p.rank_experts.empty()) points.back()["rank_experts"] = p.rank_experts;
  }
  json mae = json::object();
  for (const auto& [phase, error] : v.mean_abs_error) mae[phase] = number_or_null(error);
  json error_points = json::object();
  for (const auto& [phase, count] : v.error_points) error_points[phase] = count;
  json gains = json::array();
  for (const auto& g : v.measured_gain) {
    json gain = {{"layer", g.layer}};
    put_optional(gain, "baseline_dispatch_combine_us", g.baseline_dispatch_combine_us);
    put_optional(gain, "baseline_layer_us", g.baseline_layer_us);
    put_optional(gain, "contiguous_dispatch_combine_us", g.contiguous_dispatch_combine_us);
    put_optional(gain, "contiguous_layer_us", g.contiguous_layer_us);
    put_optional(gain, "tuned_dispatch_combine_us", g.tuned_dispatch_combine_us);
    put_optional(gain, "tuned_layer_us", g.tuned_layer_us);
    gains.push_back(gain);
  }
  return {{"iterations", v.iterations},
          {"warmup", v.warmup},
          {"rounds", v.rounds},
          {"points", points},
          {"spearman_layer", number_or_null(v.spearman_layer)},
          {"mean_abs_error", mae},
          {"error_points", error_points},
          {"measured_gain", gains},
          {"targets",
           {{"spearman_min", number_or_null(v.spearman_min)},
            {"layer_mae_max", number_or_null(v.layer_mae_max)},
            {"met", v.met}}}};
}

json to_json(const Tuning& t) {
  json layers = json::array();
  for (const auto& l : t.layers) {
    json routings = json::array();
    for (const auto& r : l.routings) {
      routings.push_back({{"routing", r.routing},
                          {"top_t", top_t_json(r.top_t)},
                          {"expert_rank", r.expert_rank},
                          {"method", r.method},
                          {"tuned", to_json(r.tuned)},
                          {"contiguous", to_json(r.contiguous)}});
    }
    json entry = {{"layer", l.layer},
                  {"expert_rank", l.expert_rank},
                  {"method", l.method},
                  {"candidates", number_or_null(l.candidates)},
                  {"search_ms", number_or_null(l.search_ms)},
                  {"predicted",
                   {{"baseline", to_json(l.baseline)},
                    {"contiguous", to_json(l.contiguous)},
                    {"tuned", to_json(l.tuned)}}},
                  {"routings", routings}};
    put_optional(entry, "seed_objective_us", l.seed_objective_us);
    if (!l.rank_experts.empty()) {
      entry["rank_experts"] = l.rank_experts;
      entry["replica_method"] = l.replica_method;
    }
    layers.push_back(entry);
  }
  json top_t_table = json::array();
  for (const auto& row : t.top_t_table) {
    top_t_table.push_back({{"routing", row.routing},
                           {"top_t", top_t_json(row.top_t)},
                           {"layer_us", number_or_null(row.layer_us)},
                           {"dispatch_combine_us", number_or_null(row.dispatch_combine_us)},
                           {"remote_bytes", number_or_null(row.remote_bytes)},
                           {"max_rank_imbalance", number_or_null(row.max_rank_imbalance)},
                           {"within_limit", row.within_limit},
                           {"chosen", row.chosen}});
  }
  json capacity_table = json::array();
  for (const auto& row : t.capacity_table) {
    capacity_table.push_back({{"capacity_factor", number_or_null(row.capacity_factor)},
                              {"max_dropped_fraction", number_or_null(row.max_dropped_fraction)},
                              {"mean_dropped_fraction", number_or_null(row.mean_dropped_fraction)},
                              {"layer_us", number_or_null(row.layer_us)},
                              {"dispatch_combine_us", number_or_null(row.dispatch_combine_us)},
                              {"within_limit", row.within_limit},
                              {"chosen", row.chosen}});
  }
  json overlap_table = json::array();
  for (const auto& row : t.overlap_table) {
    overlap_table.push_back({{"overlap", row.overlap},
                             {"layer_us", number_or_null(row.layer_us)},
                             {"dispatch_combine_us", number_or_null(row.dispatch_combine_us)},
                             {"chosen", row.chosen}});
  }
  json replica_table = json::array();
  for (const auto& row : t.replica_table) {
    replica_table.push_back({{"replicas", row.replicas},
                             {"layer_us", number_or_null(row.layer_us)},
                             {"dispatch_combine_us", number_or_null(row.dispatch_combine_us)},
                             {"max_rank_imbalance", number_or_null(row.max_rank_imbalance)},
                             {"remote_bytes", number_or_null(row.remote_bytes)},
                             {"weight_bytes_per_rank", number_or_null(row.weight_bytes_per_rank)},
                             {"eplb_layers", row.eplb_layers},
                             {"chosen", row.chosen}});
  }
  const TuningCluster& c = t.cluster;
  auto link = [](const LinkSummary& l) {
    return json{{"latency_us", number_or_null(l.latency_us)},
                {"bandwidth_GBps", number_or_null(l.bandwidth_GBps)}};
  };
  const TuningSummary& s = t.summary;
  json file = {
      {"schema", "c2rbench.tuning"},
      {"schema_version", 1},
      {"model", t.model},
      {"experts", t.experts},
      {"ranks", t.ranks},
      {"tokens_per_rank", t.tokens_per_rank},
      {"workload", t.workload},
      {"strategy", t.strategy},
      {"routing", t.routing},
      {"top_t", top_t_json(t.top_t)},
      {"top_t_within_limit", t.top_t_within_limit},
      {"capacity_factor", number_or_null(t.capacity_factor)},
      {"capacity_within_limit", t.capacity_within_limit},
      {"overlap", t.overlap},
      {"replicas", t.replicas},
      {"limits",
       {{"max_imbalance", number_or_null(t.max_imbalance)},
        {"max_drop", number_or_null(t.max_drop)}}},
      {"cluster",
       {{"name", c.name},
        {"origin", c.origin},
        {"ranks", c.ranks},
        {"nodes", c.nodes},
        {"node_of_rank", c.node_of_rank},
        {"intra_node", link(c.intra_node)},
        {"inter_node", link(c.inter_node)},
        {"rates",
         {{"expert_gflops", number_or_null(c.expert_gflops)},
          {"router_gflops", number_or_null(c.router_gflops)},
          {"copy_GBps", number_or_null(c.copy_GBps)},
          {"source", c.rates_source}}},
        {"sources", c.sources}}},
      {"profile", t.profile},
      {"layers", layers},
      {"top_t_table", top_t_table},
      {"capacity_table", capacity_table},
      {"overlap_table", overlap_table},
      {"replica_table", replica_table},
      {"summary",
       {{"layers", s.layers},
        {"baseline_layer_us", number_or_null(s.baseline_layer_us)},
        {"contiguous_layer_us", number_or_null(s.contiguous_layer_us)},
        {"tuned_layer_us", number_or_null(s.tuned_layer_us)},
        {"baseline_dispatch_combine_us", number_or_null(s.baseline_dispatch_combine_us)},
        {"contiguous_dispatch_combine_us", number_or_null(s.contiguous_dispatch_combine_us)},
        {"tuned_dispatch_combine_us", number_or_null(s.tuned_dispatch_combine_us)},
        {"predicted_speedup_vs_baseline", number_or_null(s.predicted_speedup_vs_baseline)},
        {"predicted_speedup_vs_contiguous", number_or_null(s.predicted_speedup_vs_contiguous)}}}};
  if (t.created) {
    file["created"] = {{"argv", t.created->argv},
                       {"version", t.created->version},
                       {"git_sha", t.created->git_sha}};
    if (!t.created->options.empty()) file["created"]["options"] = t.created->options;
  }
  put_optional(file["cluster"]["rates"], "expert_call_us", t.cluster.expert_call_us);
  put_optional(file["cluster"]["rates"], "expert_alone_gflops", t.cluster.expert_alone_gflops);
  put_optional(file["cluster"]["rates"], "scatter_GBps", t.cluster.scatter_GBps);
  if (t.search_seconds) file["search_seconds"] = number_or_null(*t.search_seconds);
  if (t.validation) file["validation"] = to_json(*t.validation);
  if (t.total_seconds) file["total_seconds"] = number_or_null(*t.total_seconds);
  return file;
}

Tuning tuning_from_json(const json& file, const std::string& source) {
  C2R_CHECK(file.is_object() && string_field(file, "schema", "", source) == "c2rbench.tuning",
            source << ": not a tuning file (expected \"schema\": \"c2rbench.tuning\")");
  // Version 1 is the only one written so far; a newer file may mean what this reader cannot.
  C2R_CHECK(file.contains("schema_version") && file["schema_version"].is_number_integer(),
            source << ": missing integer \"schema_version\"");
  const int64_t version = file["schema_version"].get<int64_t>();
  C2R_CHECK(version >= 1 && version <= 1, source << ": tuning schema_version " << version
                                                 << " is not one this c2rbench reads (1); "
                                                    "upgrade c2rbench");
  const Fields f(file, source);
  Tuning t;
  t.model = f.at("model").is_null() ? json::object() : f.at("model");
  const Fields model = f.sub("model");
  t.model_preset = model.text("preset");
  t.top_k = model.at_least("top_k", 1, "a positive integer");
  t.experts = f.at_least("experts", 1, "a positive integer");
  t.ranks = f.at_least("ranks", 1, "a positive integer");
  t.tokens_per_rank = f.integer64("tokens_per_rank");
  C2R_CHECK(t.tokens_per_rank >= 0,
            source << ": \"tokens_per_rank\" must be a non-negative integer");
  t.workload = f.at("workload").is_null() ? json::object() : f.at("workload");
  t.strategy = f.text("strategy");
  t.routing = f.text("routing");
  t.top_t = f.optional_index("top_t");
  t.top_t_within_limit = f.flag("top_t_within_limit", true);
  t.capacity_factor = f.non_negative("capacity_factor");
  t.capacity_within_limit = f.flag("capacity_within_limit", true);
  t.overlap = f.has("overlap") ? f.at_least("overlap", 1, "a positive integer") : 1;
  t.replicas = f.index("replicas");
  const Fields limits = f.sub("limits");
  t.max_imbalance = limits.non_negative("max_imbalance");
  t.max_drop = limits.in_range("max_drop", 0.0, 1.0);
  t.cluster = cluster_from(f.sub("cluster"));
  t.profile = f.at("profile");
  const Shape shape{t.experts, t.ranks};
  std::map<int, size_t> entry_of_layer;
  for (size_t i = 0; i < f.count("layers"); ++i) {
    const Fields entry = f.element("layers", i);
    t.layers.push_back(layer_from(entry, shape));
    check_layer_once(entry_of_layer, t.layers.back().layer, i, entry.path("layer"), "layers");
  }
  for (size_t i = 0; i < f.count("top_t_table"); ++i) {
    const Fields row = f.element("top_t_table", i);
    t.top_t_table.push_back({row.text("routing"), row.optional_index("top_t"),
                             row.non_negative("layer_us"), row.non_negative("dispatch_combine_us"),
                             row.non_negative("remote_bytes"),
                             row.non_negative("max_rank_imbalance"),
                             row.flag("within_limit", false), row.flag("chosen", false)});
  }
  for (size_t i = 0; i < f.count("capacity_table"); ++i) {
    const Fields row = f.element("capacity_table", i);
    t.capacity_table.push_back(
        {row.non_negative("capacity_factor"), row.in_range("max_dropped_fraction", 0.0, 1.0),
         row.in_range("mean_dropped_fraction", 0.0, 1.0), row.non_negative("layer_us"),
         row.non_negative("dispatch_combine_us"), row.flag("within_limit", false),
         row.flag("chosen", false)});
  }
  for (size_t i = 0; i < f.count("overlap_table"); ++i) {
    const Fields row = f.element("overlap_table", i);
    t.overlap_table.push_back({row.at_least("overlap", 1, "a positive integer"),
                               row.non_negative("layer_us"),
                               row.non_negative("dispatch_combine_us"), row.flag("chosen", false)});
  }
  for (size_t i = 0; i < f.count("replica_table"); ++i) {
    const Fields row = f.element("replica_table", i);
    t.replica_table.push_back(
        {row.index("replicas"), row.non_negative("layer_us"),
         row.non_negative("dispatch_combine_us"), row.non_negative("max_rank_imbalance"),
         row.non_negative("remote_bytes"), row.non_negative("weight_bytes_per_rank"),
         row.index("eplb_layers"), row.flag("chosen", false)});
  }
  const Fields s = f.sub("summary");
  t.summary = {s.index("layers"),
               s.non_negative("baseline_layer_us"),
               s.non_negative("contiguous_layer_us"),
               s.non_negative("tuned_layer_us"),
               s.non_negative("baseline_dispatch_combine_us"),
               s.non_negative("contiguous_dispatch_combine_us"),
               s.non_negative("tuned_dispatch_combine_us"),
               s.non_negative("predicted_speedup_vs_baseline"),
               s.non_negative("predicted_speedup_vs_contiguous")};
  // The summary's totals are over the layers listed.
  C2R_CHECK(
      !s.has("layers") || t.layers.empty() || t.summary.layers == static_cast<int>(t.layers.size()),
      s.path("layers") << " is " << t.summary.layers << " but the file lists " << t.layers.size()
                       << " layers");
  if (f.has("created")) {
    const Fields created = f.sub("created");
    TuningCreated c;
    for (size_t i = 0; i < created.count("argv"); ++i) {
      const json& arg = created.list("argv")[i];
      C2R_CHECK(arg.is_string(), source << ": created.argv must hold strings");
      c.argv.push_back(arg.get<std::string>());
    }
    c.version = created.text("version");
    c.git_sha = created.text("git_sha");
    if (file["created"].contains("options")) {
      c.options = file["created"]["options"];
      C2R_CHECK(c.options.is_object(), source << ": created.options must be an object");
    }
    t.created = c;
  }
  t.search_seconds = f.optional_non_negative("search_seconds");
  t.total_seconds = f.optional_non_negative("total_seconds");
  if (f.has("validation")) t.validation = validation_from(file["validation"], source, shape);
  return t;
}

}  // namespace c2r
