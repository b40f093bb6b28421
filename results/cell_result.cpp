#include "results/cell_result.hpp"

#include <cmath>

#include "common/error.hpp"
#include "common/json_fields.hpp"

namespace c2r {

using nlohmann::json;

namespace {

// A number as JSON prints it, integers without a decimal point (a merged report's "ranks": 4).
std::string number_text(double value) {
  if (std::isfinite(value) && value == std::floor(value) && std::abs(value) < 1e15) {
    return std::to_string(static_cast<int64_t>(value));
  }
  return json(value).dump();
}

json matrix_json(const std::vector<std::vector<int64_t>>& rows) {
  json out = json::array();
  for (const auto& row : rows) out.push_back(row);
  return out;
}

std::vector<int64_t> integers_of(const json& value) {
  std::vector<int64_t> out;
  if (value.is_array()) {
    for (const auto& v : value) out.push_back(integer_or_zero(v));
  }
  return out;
}

std::vector<std::vector<int64_t>> matrix_of(const json& object, const char* key) {
  std::vector<std::vector<int64_t>> out;
  if (object.contains(key) && object[key].is_array()) {
    for (const auto& row : object[key]) out.push_back(integers_of(row));
  }
  return out;
}

std::optional<double> number_if(const json& object, const char* key) {
  if (!object.contains(key) || !object[key].is_number()) return std::nullopt;
  return object[key].get<double>();
}

// object[key] as an object when it is one.
const json* section(const json& object, const char* key) {
  return object.contains(key) && object[key].is_object() ? &object[key] : nullptr;
}

json to_json(const Traffic& t) {
  return {{"dispatch_row_bytes", t.dispatch_row_bytes},
          {"combine_row_bytes", t.combine_row_bytes},
          {"dispatch_bytes", matrix_json(t.dispatch_bytes)},
          {"combine_bytes", matrix_json(t.combine_bytes)},
          {"remote_bytes_per_rank", t.remote_bytes_per_rank},
          {"remote_bytes_total", t.remote_bytes_total},
          {"remote_dispatch_bytes", t.remote_dispatch_bytes},
          {"remote_combine_bytes", t.remote_combine_bytes},
          {"copies_per_token", t.copies_per_token},
          {"remote_copies_per_token", t.remote_copies_per_token},
          {"dispatch_algbw_GBps", t.dispatch_algbw_gbps},
          {"dispatch_busbw_GBps", t.dispatch_busbw_gbps}};
}

Traffic traffic_from_json(const json& j) {
  Traffic t;
  t.dispatch_row_bytes = integer_or(j, "dispatch_row_bytes", 0);
  t.combine_row_bytes = integer_or(j, "combine_row_bytes", 0);
  t.dispatch_bytes = matrix_of(j, "dispatch_bytes");
  t.combine_bytes = matrix_of(j, "combine_bytes");
  t.remote_bytes_per_rank = list_or_empty(j, "remote_bytes_per_rank", integer_or_zero);
  t.remote_bytes_total = integer_or(j, "remote_bytes_total", 0);
  t.remote_dispatch_bytes = integer_or(j, "remote_dispatch_bytes", 0);
  t.remote_combine_bytes = integer_or(j, "remote_combine_bytes", 0);
  t.copies_per_token = number_or(j, "copies_per_token", 0.0);
  t.remote_copies_per_token = number_or(j, "remote_copies_per_token", 0.0);
  t.dispatch_algbw_gbps = number_or(j, "dispatch_algbw_GBps", 0.0);
  t.dispatch_busbw_gbps = number_or(j, "dispatch_busbw_GBps", 0.0);
  return t;
}

json to_json(const Load& l) {
  return {{"tokens_per_expert", l.tokens_per_expert},
          {"tokens_per_rank", l.tokens_per_rank},
          {"rows_computed_per_rank", l.rows_computed_per_rank},
          {"expert_imbalance", l.expert_imbalance},
          {"rank_imbalance", l.rank_imbalance},
          {"dropped_pairs", l.dropped_pairs},
          {"dropped_fraction", l.dropped_fraction},
          {"internal_collaboration", l.internal_collaboration},
          {"coactivation", l.coactivation}};
}

Load load_from_json(const json& j) {
  Load l;
  l.tokens_per_expert = list_or_empty(j, "tokens_per_expert", integer_or_zero);
  l.tokens_per_rank = list_or_empty(j, "tokens_per_rank", number_or_zero);
  l.rows_computed_per_rank = list_or_empty(j, "rows_computed_per_rank", integer_or_zero);
  l.expert_imbalance = number_or(j, "expert_imbalance", 0.0);
  l.rank_imbalance = number_or(j, "rank_imbalance", 0.0);
  l.dropped_pairs = integer_or(j, "dropped_pairs", 0);
  l.dropped_fraction = number_or(j, "dropped_fraction", 0.0);
  l.internal_collaboration = number_or(j, "internal_collaboration", 0.0);
  l.coactivation = list_or_empty(j, "coactivation", number_or_zero);
  return l;
}

json to_json(const OutputCheck& c) {
  if (!c.checked) return {{"checked", false}};
  json out = {{"checked", true},
              {"worst_relative_error", c.worst_relative_error},
              {"wrong_rows", c.wrong_rows},
              {"rows", c.rows},
              {"tolerance", c.tolerance},
              {"combine_roundoff", c.combine_roundoff}};
  if (c.routing_mismatches) out["routing_mismatches"] = *c.routing_mismatches;
  return out;
}

OutputCheck check_from_json(const json& j) {
  OutputCheck c;
  c.checked = flag_or(j, "checked", false);
  c.worst_relative_error = number_or(j, "worst_relative_error", 0.0);
  c.wrong_rows = integer_or(j, "wrong_rows", 0);
  c.rows = integer_or(j, "rows", 0);
  c.tolerance = number_or(j, "tolerance", 0.0);
  c.combine_roundoff = number_or(j, "combine_roundoff", 0.0);
  if (j.contains("routing_mismatches"))
    c.routing_mismatches = integer_or(j, "routing_mismatches", 0);
  return c;
}

json to_json(const SpeedupInterval& i) {
  return {{"low", i.low}, {"high", i.high}, {"confidence", i.confidence}, {"paired", i.paired}};
}

SpeedupInterval interval_from_json(const json& j) {
  return {number_or(j, "low", 0.0), number_or(j, "high", 0.0), number_or(j, "confidence", 0.0),
          flag_or(j, "paired", false)};
}

}  // namespace

std::string cell_key(const CellResult& cell, CellKeyParts parts) {
  std::string key;
  if (parts.layer) key = "layer " + std::to_string(cell.layer.value_or(0)) + " ";
  if (parts.sizes && cell.ranks) key += "ranks " + number_text(*cell.ranks) + " ";
  if (parts.sizes && cell.tokens_per_rank) {
    key += "tokens " + std::to_string(*cell.tokens_per_rank) + " ";
  }
  // fp32 rows and the serial layer are not named, so keys of reports from before payload types
  // and pipelining still match.
  return key + cell.routing + (cell.top_t ? " T=" + std::to_string(*cell.top_t) : "") + " " +
         cell.strategy + " " + cell.placement + (cell.dtype == "fp32" ? "" : " " + cell.dtype) +
         (cell.overlap == 1 ? "" : " overlap " + std::to_string(cell.overlap));
}

json to_json(const CellResult& cell) {
  json j;
  j["routing"] = cell.routing;
  j["top_t"] = cell.top_t ? json(*cell.top_t) : json(nullptr);
  j["strategy"] = cell.strategy;
  j["placement"] = cell.placement;
  j["dtype"] = cell.dtype;
  j["overlap"] = cell.overlap;
  if (cell.layer) j["layer"] = *cell.layer;
  if (cell.tokens_per_rank) j["tokens_per_rank"] = *cell.tokens_per_rank;
  if (cell.ranks) j["ranks"] = *cell.ranks;
  j["baseline"] = cell.baseline;
  j["in_grid"] = cell.in_grid;
  j["expert_rank"] = cell.expert_rank;
  if (!cell.rank_experts.empty()) j["rank_experts"] = cell.rank_experts;
  if (cell.placement_search) {
    j["placement_search"] = {{"method", cell.placement_search->method},
                             {"candidates", cell.placement_search->candidates}};
  }
  if (cell.top_t_source) j["top_t_source"] = *cell.top_t_source;
  if (cell.trace_match) j["trace_match"] = *cell.trace_match;
  json phases = json::object();
  for (int p = 0; p < kNumResultPhases; ++p) {
    if (cell.phases[p]) phases[phase_name(static_cast<Phase>(p))] = to_json(*cell.phases[p]);
  }
  j["phases"] = phases;
  if (cell.ceilings) {
    j["ceilings"] = {{"expert_dense_gemm", to_json(cell.ceilings->expert_dense_gemm)},
                     {"dispatch_alltoallv", to_json(cell.ceilings->dispatch_alltoallv)},
                     {"combine_alltoallv", to_json(cell.ceilings->combine_alltoallv)}};
  }
  if (cell.efficiency) {
    j["efficiency"] = {{"expert", cell.efficiency->expert}};
    // A pipelined layer's dispatch and combine phases time only what it exposed: no efficiency.
    if (cell.overlap == 1) {
      j["efficiency"]["dispatch"] = cell.efficiency->dispatch;
      j["efficiency"]["combine"] = cell.efficiency->combine;
    }
  }
  if (cell.expert_gflops) j["expert_gflops"] = *cell.expert_gflops;
  if (cell.traffic) j["traffic"] = to_json(*cell.traffic);
  if (cell.load) j["load"] = to_json(*cell.load);
  if (cell.overlap_metrics) {
    const OverlapMetrics& o = *cell.overlap_metrics;
    j["overlap_metrics"] = {{"exposed_communication", to_json(o.exposed_communication)},
                            {"compute", to_json(o.compute)}};
    if (o.efficiency) j["overlap_metrics"]["efficiency"] = *o.efficiency;
  }
  if (cell.check) j["check"] = to_json(*cell.check);
  if (cell.speedup_vs_baseline) j["speedup_vs_baseline"] = *cell.speedup_vs_baseline;
  if (cell.speedup_interval) {
    j["speedup_interval"] = to_json(*cell.speedup_interval);
  }
  if (cell.speedup_vs_eplb) j["speedup_vs_eplb"] = *cell.speedup_vs_eplb;
  if (cell.eplb_speedup_interval) j["eplb_speedup_interval"] = to_json(*cell.eplb_speedup_interval);
  if (!cell.round_positions.empty()) j["round_positions"] = cell.round_positions;
  return j;
}

namespace {

// The stats object object[key], empty statistics when absent.
PhaseStats stats_in(const json& object, const char* key) {
  static const json kNone = json::object();
  const json* s = section(object, key);
  return phase_stats_from_json(s ? *s : kNone);
}

}  // namespace

CellResult cell_result_from_json(const json& j, const std::string& source) {
  C2R_CHECK(j.is_object() && section(j, "phases"), source << ": a result has no \"phases\"");
  CellResult cell;
  cell.routing = text_or(j, "routing", "?");
  if (j.contains("top_t") && is_int(j["top_t"])) cell.top_t = j["top_t"].get<int>();
  cell.strategy = text_or(j, "strategy", "?");
  cell.placement = text_or(j, "placement", "?");
  cell.dtype = text_or(j, "dtype", "fp32");
  if (j.contains("overlap") && is_int(j["overlap"])) cell.overlap = j["overlap"].get<int>();
  if (j.contains("layer") && is_int(j["layer"])) cell.layer = j["layer"].get<int>();
  if (j.contains("tokens_per_rank") && j["tokens_per_rank"].is_number()) {
    cell.tokens_per_rank = integer_or(j["tokens_per_rank"], 0);
  }
  cell.ranks = number_if(j, "ranks");
  cell.baseline = flag_or(j, "baseline", false);
  cell.in_grid = flag_or(j, "in_grid", false);
  for (int64_t rank : list_or_empty(j, "expert_rank", integer_or_zero)) {
    cell.expert_rank.push_back(static_cast<int>(rank));
  }
  if (j.contains("rank_experts") && j["rank_experts"].is_array()) {
    for (const json& slots : j["rank_experts"]) {
      cell.rank_experts.emplace_back();
      if (!slots.is_array()) continue;
      for (const json& e : slots) {
        cell.rank_experts.back().push_back(static_cast<int>(integer_or_zero(e)));
      }
    }
  }
  if (const json* search = section(j, "placement_search")) {
    cell.placement_search =
        PlacementSearch{text_or(*search, "method", ""), number_or(*search, "candidates", 0.0)};
  }
  if (j.contains("top_t_source") && j["top_t_source"].is_string()) {
    cell.top_t_source = j["top_t_source"].get<std::string>();
  }
  cell.trace_match = number_if(j, "trace_match");
  const json& phases = j["phases"];
  for (int p = 0; p < kNumResultPhases; ++p) {
    if (const json* phase = section(phases, phase_name(static_cast<Phase>(p)))) {
      cell.phases[p] = phase_stats_from_json(*phase);
    }
  }
  if (const json* c = section(j, "ceilings")) {
    cell.ceilings = Ceilings{stats_in(*c, "expert_dense_gemm"), stats_in(*c, "dispatch_alltoallv"),
                             stats_in(*c, "combine_alltoallv")};
  }
  if (const json* e = section(j, "efficiency")) {
    cell.efficiency = Efficiency{number_or(*e, "expert", 0.0), number_or(*e, "dispatch", 0.0),
                                 number_or(*e, "combine", 0.0)};
  }
  if (const json* o = section(j, "overlap_metrics")) {
    cell.overlap_metrics = OverlapMetrics{stats_in(*o, "exposed_communication"),
                                          stats_in(*o, "compute"), number_if(*o, "efficiency")};
  }
  cell.expert_gflops = number_if(j, "expert_gflops");
  if (const json* t = section(j, "traffic")) cell.traffic = traffic_from_json(*t);
  if (const json* l = section(j, "load")) cell.load = load_from_json(*l);
  if (const json* c = section(j, "check")) cell.check = check_from_json(*c);
  cell.speedup_vs_baseline = number_if(j, "speedup_vs_baseline");
  if (const json* s = section(j, "speedup_interval"))
    cell.speedup_interval = interval_from_json(*s);
  cell.speedup_vs_eplb = number_if(j, "speedup_vs_eplb");
  if (const json* s = section(j, "eplb_speedup_interval")) {
    cell.eplb_speedup_interval = interval_from_json(*s);
  }
  for (int64_t position : list_or_empty(j, "round_positions", integer_or_zero)) {
    cell.round_positions.push_back(static_cast<int>(position));
  }
  return cell;
}

}  // namespace c2r
