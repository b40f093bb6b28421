#pragma once
// Routing traces that users bring (`c2rbench.trace`, schema_version 1; docs/REPORT.md, "Routing
// traces"): per layer, per token, the k experts a model's router chose (first = highest-scoring)
// and, when known, their gate weights. One JSON document, whose layers hold the arrays inline or
// name .npy files (relative to the document) holding them:
//
//   {"schema": "c2rbench.trace", "schema_version": 1, "experts": E, "top_k": k,
//    "model": "optional name", "source": "optional text",
//    "layers": [{"layer": 0, "expert_ids": [[3, 1], [0, 7], ...], "weights": [[0.6, 0.4], ...]},
//               {"layer": 1, "expert_ids_npy": "layer1_ids.npy", "weights_npy": "layer1_w.npy"}]}
//
// Layers may hold different token counts; a run's token g takes row (g mod tokens) of each layer.

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace c2r {

struct TraceLayer {
  int layer = 0;
  int64_t tokens = 0;               // at least 1
  std::vector<int32_t> expert_ids;  // [tokens x top_k] in [0, E), distinct within a token
  std::vector<float> weights;       // [tokens x top_k] finite; empty when the trace has none

  // The rows of global tokens [first_token, first_token + count): token g takes row
  // g mod tokens. [count x top_k].
  std::vector<int32_t> rows_for(int64_t first_token, int64_t count, int top_k) const;
};

struct RoutingTrace {
  int experts = 0;
  int top_k = 0;
  std::string model;               // optional: the model it was recorded from
  std::string source;              // optional: how it was recorded
  std::vector<TraceLayer> layers;  // at least one, by ascending layer number

  // The layer numbered `layer`, or nullptr.
  const TraceLayer* find(int layer) const;
  std::vector<int> layer_numbers() const;
};

// The limits of what a trace may say (the command line's own bounds on a model).
constexpr int kMaxTraceExperts = 1 << 16;
constexpr int kMaxTraceTopK = 1 << 10;
constexpr int kMaxTraceLayer = 1 << 20;

// Reads a file the trace names (an .npy array): the path as the trace resolves it (relative to
// the trace's directory) -> its bytes. Throws c2r::Error naming the path when it cannot.
using TraceFileReader = std::function<std::string(const std::string& path)>;

// Parses and validates the trace document `text` read from `source`, reading the .npy files it
// names with `read_file`. Throws c2r::Error naming `source` (and the .npy file, for a problem in
// one) and what is wrong: malformed JSON, another schema or a newer version, E or k out of range,
// no layers or no tokens, a layer listed twice, an id outside [0, E), an id repeated within a
// token, a row of another length than k, weights of another shape or not finite, an .npy file that
// is missing, malformed, of another type or shape.
RoutingTrace parse_routing_trace(const std::string& text, const std::string& source,
                                 const TraceFileReader& read_file);

// Where the trace at `source` finds the file it names `name`: `name` itself when absolute, else
// relative to the directory of `source`.
std::string trace_relative_path(const std::string& source, const std::string& name);

// "0, 1, 2" or "0..31" (consecutive), for messages.
std::string describe_layers(const std::vector<int>& layers);

}  // namespace c2r
