#include "results/tuning_file.hpp"

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
  std::optional<double> optional_number(const char* key) const {
    if (!has(key)) return std::nullopt;
    return number(key);
  }
  int integer(const char* key) const {
    if (!has(key)) return 0;
    return int_field(object_, key, INT32_MIN, INT32_MAX, where_, "an integer");
  }
  int64_t integer64(const char* key) const {
    if (!has(key)) return 0;
    C2R_CHECK(is_integer_in(at(key), INT64_MIN, INT64_MAX),
              where_ << ": \"" << key << "\" must be an integer");
    return at(key).get<int64_t>();
  }
  std::optional<int> optional_integer(const char* key) const {
    if (at(key).is_null()) return std::nullopt;
    return integer(key);
  }
  bool flag(const char* key, bool fallback) const {
    if (!has(key)) return fallback;
    C2R_CHECK(at(key).is_boolean(), where_ << ": \"" << key << "\" must be true or false");
    return at(key).get<bool>();
  }
  std::string text(const char* key) const { return string_field(object_, key, "", where_); }
  std::vector<int> integers(const char* key) const {
    std::vector<int> out;
    for (size_t i = 0; i < list(key).size(); ++i) {
      C2R_CHECK(is_int(at(key)[i]), where_ << ": \"" << key << "\" must hold integers");
      out.push_back(at(key)[i].get<int>());
    }
    return out;
  }
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
    t.at(phase) = f.number((std::string(phase_name(phase)) + "_us").c_str());
  }
  t.remote_bytes = f.number("remote_bytes");
  t.rank_imbalance = f.number("rank_imbalance");
  t.dropped_fraction = f.optional_number("dropped_fraction");
  return t;
}

TuningRouting routing_from(const Fields& f) {
  return {
      f.text("routing"), f.optional_integer("top_t"),      f.integers("expert_rank"),
      f.text("method"),  phase_times_from(f.sub("tuned")), phase_times_from(f.sub("contiguous"))};
}

TuningLayer layer_from(const Fields& f) {
  TuningLayer l;
  l.layer = f.integer("layer");
  l.expert_rank = f.integers("expert_rank");
  l.method = f.text("method");
  l.candidates = f.number("candidates");
  l.search_ms = f.number("search_ms");
  l.seed_objective_us = f.optional_number("seed_objective_us");
  const Fields predicted = f.sub("predicted");
  l.baseline = phase_times_from(predicted.sub("baseline"));
  l.contiguous = phase_times_from(predicted.sub("contiguous"));
  l.tuned = phase_times_from(predicted.sub("tuned"));
  for (size_t i = 0; i < f.count("routings"); ++i) {
    l.routings.push_back(routing_from(f.element("routings", i)));
  }
  return l;
}

TuningCluster cluster_from(const Fields& f) {
  TuningCluster c;
  c.name = f.text("name");
  c.origin = f.text("origin");
  c.ranks = f.integer("ranks");
  c.nodes = f.integer("nodes");
  c.node_of_rank = f.integers("node_of_rank");
  for (auto [key, link] : {std::pair{"intra_node", &c.intra_node}, {"inter_node", &c.inter_node}}) {
    const Fields l = f.sub(key);
    *link = {l.number("latency_us"), l.number("bandwidth_GBps")};
  }
  const Fields rates = f.sub("rates");
  c.expert_gflops = rates.number("expert_gflops");
  c.router_gflops = rates.number("router_gflops");
  c.copy_GBps = rates.number("copy_GBps");
  c.rates_source = rates.text("source");
  c.expert_call_us = rates.optional_number("expert_call_us");
  c.expert_alone_gflops = rates.optional_number("expert_alone_gflops");
  c.scatter_GBps = rates.optional_number("scatter_GBps");
  c.sources = f.at("sources").is_null() ? json::array() : f.at("sources");
  return c;
}

// The points keep parse_report_tuning's checks and messages: the HTML page plots them.
ValidationPoint point_from(const json& p, const std::string& where) {
  C2R_CHECK(p.is_object() && p.contains("layer") && is_int(p["layer"]),
            where << " needs an integer \"layer\"");
  for (const char* side : {"predicted", "measured"}) {
    C2R_CHECK(p.contains(side) && p[side].is_object() && p[side].contains("layer_us") &&
                  is_finite_number(p[side]["layer_us"]),
              where << "." << side << ".layer_us must be a number");
  }
  const Fields f(p, where);
  ValidationPoint v;
  v.layer = f.integer("layer");
  v.routing = f.text("routing");
  v.top_t = f.optional_integer("top_t");
  v.strategy = f.text("strategy");
  v.placement = f.text("placement");
  v.baseline = f.flag("baseline", false);
  v.expert_rank = f.integers("expert_rank");
  v.predicted = phase_times_from(f.sub("predicted"));
  v.measured = phase_times_from(f.sub("measured"));
  return v;
}

Validation validation_from(const json& validation, const std::string& source) {
  C2R_CHECK(
      validation.is_object() && validation.contains("points") && validation["points"].is_array(),
      source << ": validation must be an object with an array \"points\"");
  C2R_CHECK(
      !validation.contains("spearman_layer") || is_finite_number(validation["spearman_layer"]),
      source << ": validation.spearman_layer must be a number");
  const Fields f(validation, source + ": validation");
  Validation v;
  v.iterations = f.integer("iterations");
  v.warmup = f.integer("warmup");
  v.rounds = f.has("rounds") ? f.integer("rounds") : 0;
  const json& points = validation["points"];
  for (size_t i = 0; i < points.size(); ++i) {
    const std::string where = source + ": validation.points[" + std::to_string(i) + "]";
    v.points.push_back(point_from(points[i], where));
  }
  v.spearman_layer = f.has("spearman_layer") ? f.number("spearman_layer") : 0.0;
  const Fields mae = f.sub("mean_abs_error");
  if (f.has("mean_abs_error")) {
    for (const auto& [phase, error] : f.at("mean_abs_error").items()) {
      v.mean_abs_error[phase] = mae.number(phase.c_str());
    }
  }
  // Files written before the counts were recorded have none: the phases then show no count.
  if (f.has("error_points")) {
    C2R_CHECK(f.at("error_points").is_object(),
              source << ": validation.error_points must be an object");
    const Fields counts = f.sub("error_points");
    for (const auto& [phase, count] : f.at("error_points").items()) {
      v.error_points[phase] = counts.integer(phase.c_str());
    }
  }
  for (size_t i = 0; i < f.count("measured_gain"); ++i) {
    const Fields g = f.element("measured_gain", i);
    MeasuredGain gain;
    gain.layer = g.integer("layer");
    gain.baseline_dispatch_combine_us = g.optional_number("baseline_dispatch_combine_us");
    gain.baseline_layer_us = g.optional_number("baseline_layer_us");
    gain.contiguous_dispatch_combine_us = g.optional_number("contiguous_dispatch_combine_us");
    gain.contiguous_layer_us = g.optional_number("contiguous_layer_us");
    gain.tuned_dispatch_combine_us = g.optional_number("tuned_dispatch_combine_us");
    gain.tuned_layer_us = g.optional_number("tuned_layer_us");
    v.measured_gain.push_back(gain);
  }
  const Fields targets = f.sub("targets");
  v.spearman_min = targets.number("spearman_min");
  v.layer_mae_max = targets.number("layer_mae_max");
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
                      {"baseline", p.baseline},
                      {"expert_rank", p.expert_rank},
                      {"predicted", to_json(p.predicted)},
                      {"measured", to_json(p.measured)}});
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
  const Fields f(file, source);
  Tuning t;
  t.model = f.at("model").is_null() ? json::object() : f.at("model");
  const Fields model = f.sub("model");
  t.model_preset = model.text("preset");
  t.top_k = model.integer("top_k");
  t.experts = f.integer("experts");
  t.ranks = f.integer("ranks");
  t.tokens_per_rank = f.integer64("tokens_per_rank");
  t.workload = f.at("workload").is_null() ? json::object() : f.at("workload");
  t.strategy = f.text("strategy");
  t.routing = f.text("routing");
  t.top_t = f.optional_integer("top_t");
  t.top_t_within_limit = f.flag("top_t_within_limit", true);
  t.capacity_factor = f.number("capacity_factor");
  t.capacity_within_limit = f.flag("capacity_within_limit", true);
  const Fields limits = f.sub("limits");
  t.max_imbalance = limits.number("max_imbalance");
  t.max_drop = limits.number("max_drop");
  t.cluster = cluster_from(f.sub("cluster"));
  t.profile = f.at("profile");
  for (size_t i = 0; i < f.count("layers"); ++i)
    t.layers.push_back(layer_from(f.element("layers", i)));
  for (size_t i = 0; i < f.count("top_t_table"); ++i) {
    const Fields row = f.element("top_t_table", i);
    t.top_t_table.push_back({row.text("routing"), row.optional_integer("top_t"),
                             row.number("layer_us"), row.number("dispatch_combine_us"),
                             row.number("remote_bytes"), row.number("max_rank_imbalance"),
                             row.flag("within_limit", false), row.flag("chosen", false)});
  }
  for (size_t i = 0; i < f.count("capacity_table"); ++i) {
    const Fields row = f.element("capacity_table", i);
    t.capacity_table.push_back({row.number("capacity_factor"), row.number("max_dropped_fraction"),
                                row.number("mean_dropped_fraction"), row.number("layer_us"),
                                row.number("dispatch_combine_us"), row.flag("within_limit", false),
                                row.flag("chosen", false)});
  }
  const Fields s = f.sub("summary");
  t.summary = {s.integer("layers"),
               s.number("baseline_layer_us"),
               s.number("contiguous_layer_us"),
               s.number("tuned_layer_us"),
               s.number("baseline_dispatch_combine_us"),
               s.number("contiguous_dispatch_combine_us"),
               s.number("tuned_dispatch_combine_us"),
               s.number("predicted_speedup_vs_baseline"),
               s.number("predicted_speedup_vs_contiguous")};
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
    t.created = c;
  }
  t.search_seconds = f.optional_number("search_seconds");
  t.total_seconds = f.optional_number("total_seconds");
  if (f.has("validation")) t.validation = validation_from(file["validation"], source);
  return t;
}

}  // namespace c2r
