#include "model/routing_trace.hpp"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <set>

#include <nlohmann/json.hpp>

#include "common/error.hpp"
#include "common/json_fields.hpp"
#include "common/json_text.hpp"
#include "model/npy.hpp"

namespace c2r {

namespace {

using nlohmann::json;

// Checks the ids of a layer, [tokens x k] from `id(t, j)`, as they are stored: each in [0, E),
// the k of a token distinct. `where(t)` names token t's row in messages.
template <typename Id, typename Where>
std::vector<int32_t> checked_ids(int64_t tokens, int k, int experts, Id id, Where where) {
  std::vector<int32_t> ids(static_cast<size_t>(tokens) * k);
  std::vector<int64_t> stamp(experts, -1);  // [E] the last token that chose the expert
  for (int64_t t = 0; t < tokens; ++t) {
    for (int j = 0; j < k; ++j) {
      const int64_t e = id(t, j);
      C2R_CHECK(e >= 0 && e < experts,
                where(t) << " holds expert " << e << ", outside 0.." << experts - 1);
      C2R_CHECK(stamp[e] != t, where(t) << " repeats expert " << e << " (a token's " << k
                                        << " experts must differ)");
      stamp[e] = t;
      ids[static_cast<size_t>(t) * k + j] = static_cast<int32_t>(e);
    }
  }
  return ids;
}

// A value for a message: a number as written, anything else by its JSON type.
std::string describe(const json& value) {
  return value.is_number() ? value.dump() : std::string("a JSON ") + value.type_name();
}

// A gate weight must be a finite float (a double beyond float's range is not).
bool finite_float(double value) {
  return std::isfinite(value) && std::isfinite(static_cast<float>(value));
}

// One entry of "layers", read from `doc["layers"][index]`.
class LayerReader {
 public:
  LayerReader(const json& entry, size_t index, const RoutingTrace& trace, const std::string& source,
              const TraceFileReader& read_file)
      : entry_(entry),
        trace_(trace),
        source_(source),
        read_file_(read_file),
        where_(source + ": layers[" + std::to_string(index) + "]"),
        name_("layers[" + std::to_string(index) + "]") {}

  TraceLayer read() {
    C2R_CHECK(entry_.is_object(), where_ << " must be an object");
    TraceLayer layer;
    layer.layer =
        int_field(entry_, "layer", 0, kMaxTraceLayer, where_, "a layer number from 0 to 1048576");
    const bool inline_ids = entry_.contains("expert_ids");
    const bool npy_ids = entry_.contains("expert_ids_npy");
    C2R_CHECK(inline_ids != npy_ids, where_ << " must hold exactly one of \"expert_ids\" (inline "
                                            << "rows) and \"expert_ids_npy\" (an .npy file)");
    C2R_CHECK(!(entry_.contains("weights") && entry_.contains("weights_npy")),
              where_ << " holds both \"weights\" and \"weights_npy\"");
    if (inline_ids) {
      read_inline_ids(layer);
    } else {
      read_npy_ids(layer);
    }
    if (entry_.contains("weights")) read_inline_weights(layer);
    if (entry_.contains("weights_npy")) read_npy_weights(layer);
    return layer;
  }

 private:
  void read_inline_ids(TraceLayer& layer) const {
    const json& rows = entry_["expert_ids"];
    const int k = trace_.top_k;
    C2R_CHECK(rows.is_array() && !rows.empty(),
              where_ << ".expert_ids must be a non-empty array of rows of " << k << " expert ids");
    layer.tokens = static_cast<int64_t>(rows.size());
    for (size_t t = 0; t < rows.size(); ++t) {
      const json& row = rows[t];
      C2R_CHECK(
          row.is_array() && row.size() == static_cast<size_t>(k),
          where_ << ".expert_ids[" << t << "] must be a row of " << k << " expert ids (top_k)");
      for (const json& id : row) {
        C2R_CHECK(is_integer_in(id, 0, trace_.experts - 1),
                  where_ << ".expert_ids[" << t << "] holds " << describe(id)
                         << ", not an expert id in 0.." << trace_.experts - 1);
      }
    }
    layer.expert_ids = checked_ids(
        layer.tokens, k, trace_.experts,
        [&](int64_t t, int j) { return rows[static_cast<size_t>(t)][j].get<int64_t>(); },
        [&](int64_t t) { return where_ + ".expert_ids[" + std::to_string(t) + "]"; });
  }

  void read_inline_weights(TraceLayer& layer) const {
    const json& rows = entry_["weights"];
    const int k = trace_.top_k;
    C2R_CHECK(rows.is_array() && static_cast<int64_t>(rows.size()) == layer.tokens,
              where_ << ".weights must be an array of " << layer.tokens
                     << " rows, one per row of expert_ids");
    layer.weights.reserve(static_cast<size_t>(layer.tokens) * k);
    for (size_t t = 0; t < rows.size(); ++t) {
      const json& row = rows[t];
      C2R_CHECK(row.is_array() && row.size() == static_cast<size_t>(k),
                where_ << ".weights[" << t << "] must be a row of " << k << " numbers");
      for (const json& w : row) {
        C2R_CHECK(
            w.is_number() && finite_float(w.get<double>()),
            where_ << ".weights[" << t << "] holds " << describe(w) << ", not a finite float32");
        layer.weights.push_back(static_cast<float>(w.get<double>()));
      }
    }
  }

  // The array an .npy field names, parsed: 2-D [tokens, k] of one of `types`. `bytes` keeps the
  // file's bytes alive for the view.
  NpyArray npy_field(const char* key, std::string& bytes, std::string& path) const {
    C2R_CHECK(entry_[key].is_string() && !entry_[key].get<std::string>().empty(),
              where_ << "." << key << " must be the name of an .npy file");
    path = trace_relative_path(source_, entry_[key].get<std::string>());
    const std::string named_by = " (" + name_ + "." + key + " of " + source_ + ")";
    try {
      bytes = read_file_(path);
      NpyArray array = parse_npy(bytes, path);
      C2R_CHECK(array.shape.size() == 2 && array.shape[1] == trace_.top_k,
                path << ": shape " << array.shape_text() << "; expected (tokens, " << trace_.top_k
                     << "), one row of top_k per token");
      return array;
    } catch (const Error& e) {
      throw Error(e.what() + named_by);
    }
  }

  void read_npy_ids(TraceLayer& layer) const {
    std::string bytes, path;
    const NpyArray ids = npy_field("expert_ids_npy", bytes, path);
    const std::string named_by = " (" + name_ + ".expert_ids_npy of " + source_ + ")";
    C2R_CHECK(ids.type != NpyType::kFloat32, path << ": expert ids are " << npy_descr(ids.type)
                                                  << "; expected integers ('<i4' or '<i8')"
                                                  << named_by);
    C2R_CHECK(ids.shape[0] >= 1,
              path << ": no tokens (shape " << ids.shape_text() << ")" << named_by);
    layer.tokens = ids.shape[0];
    const int k = trace_.top_k;
    try {
      layer.expert_ids = checked_ids(
          layer.tokens, k, trace_.experts, [&](int64_t t, int j) { return ids.integer(t * k + j); },
          [&](int64_t t) { return path + ": row " + std::to_string(t); });
    } catch (const Error& e) {
      throw Error(e.what() + named_by);
    }
  }

  void read_npy_weights(TraceLayer& layer) const {
    std::string bytes, path;
    const NpyArray weights = npy_field("weights_npy", bytes, path);
    const std::string named_by = " (" + name_ + ".weights_npy of " + source_ + ")";
    C2R_CHECK(weights.type == NpyType::kFloat32, path << ": weights are " << npy_descr(weights.type)
                                                      << "; expected float32 ('<f4')" << named_by);
    C2R_CHECK(weights.shape[0] == layer.tokens, path << ": " << weights.shape[0]
                                                     << " rows of weights for " << layer.tokens
                                                     << " rows of expert ids" << named_by);
    layer.weights.resize(static_cast<size_t>(weights.count));
    for (int64_t i = 0; i < weights.count; ++i) {
      layer.weights[i] = weights.real(i);
      C2R_CHECK(std::isfinite(layer.weights[i]), path << ": row " << i / trace_.top_k
                                                      << " holds a weight that is not finite"
                                                      << named_by);
    }
  }

  const json& entry_;
  const RoutingTrace& trace_;
  const std::string& source_;
  const TraceFileReader& read_file_;
  const std::string where_;  // "SOURCE: layers[i]"
  const std::string name_;   // "layers[i]"
};

}  // namespace

std::vector<int32_t> TraceLayer::rows_for(int64_t first_token, int64_t count, int top_k) const {
  std::vector<int32_t> rows(static_cast<size_t>(count) * top_k);
  for (int64_t t = 0; t < count; ++t) {
    const int64_t row = (first_token + t) % tokens;
    std::copy_n(expert_ids.begin() + row * top_k, top_k, rows.begin() + t * top_k);
  }
  return rows;
}

const TraceLayer* RoutingTrace::find(int layer) const {
  for (const TraceLayer& l : layers) {
    if (l.layer == layer) return &l;
  }
  return nullptr;
}

std::vector<int> RoutingTrace::layer_numbers() const {
  std::vector<int> numbers;
  for (const TraceLayer& l : layers) numbers.push_back(l.layer);
  return numbers;
}

std::string trace_relative_path(const std::string& source, const std::string& name) {
  const std::filesystem::path path(name);
  if (path.is_absolute()) return name;
  const std::filesystem::path directory = std::filesystem::path(source).parent_path();
  return directory.empty() ? name : (directory / path).string();
}

std::string describe_layers(const std::vector<int>& layers) {
  if (layers.empty()) return "none";
  bool consecutive = true;
  for (size_t i = 1; i < layers.size(); ++i) consecutive &= layers[i] == layers[i - 1] + 1;
  if (consecutive && layers.size() > 2) {
    return std::to_string(layers.front()) + ".." + std::to_string(layers.back());
  }
  std::string out;
  for (size_t i = 0; i < layers.size() && i < 16; ++i) {
    out += (i > 0 ? ", " : "") + std::to_string(layers[i]);
  }
  if (layers.size() > 16) out += ", ... (" + std::to_string(layers.size()) + " layers)";
  return out;
}

RoutingTrace parse_routing_trace(const std::string& text, const std::string& source,
                                 const TraceFileReader& read_file) {
  const json doc = parse_json_text(text, source);
  C2R_CHECK(doc.is_object(), source << ": expected a JSON object (a c2rbench.trace document)");
  C2R_CHECK(doc.contains("schema") && doc["schema"].is_string(),
            source << ": missing \"schema\" (expected \"c2rbench.trace\")");
  C2R_CHECK(doc["schema"].get<std::string>() == "c2rbench.trace",
            source << ": schema is \"" << doc["schema"].get<std::string>()
                   << "\", expected \"c2rbench.trace\"");
  const int version =
      int_field(doc, "schema_version", 1, INT32_MAX, source, "a positive whole number");
  C2R_CHECK(version == 1,
            source << ": schema_version " << version << " is newer than this c2rbench reads (1)");
  RoutingTrace trace;
  trace.experts = int_field(doc, "experts", 1, kMaxTraceExperts, source,
                            "a whole number of experts from 1 to 65536");
  trace.top_k = int_field(doc, "top_k", 1, std::min(trace.experts, kMaxTraceTopK), source,
                          "a whole number from 1 to the number of experts (and at most 1024)");
  trace.model = string_field(doc, "model", "", source);
  trace.source = string_field(doc, "source", "", source);
  C2R_CHECK(doc.contains("layers") && doc["layers"].is_array() && !doc["layers"].empty(),
            source << ": \"layers\" must be a non-empty array");
  const json& layers = doc["layers"];
  std::set<int> seen;
  for (size_t i = 0; i < layers.size(); ++i) {
    TraceLayer layer = LayerReader(layers[i], i, trace, source, read_file).read();
    C2R_CHECK(seen.insert(layer.layer).second,
              source << ": layers[" << i << "]: layer " << layer.layer << " is listed twice");
    trace.layers.push_back(std::move(layer));
  }
  std::sort(trace.layers.begin(), trace.layers.end(),
            [](const TraceLayer& a, const TraceLayer& b) { return a.layer < b.layer; });
  return trace;
}

}  // namespace c2r
