#pragma once
// The MoE layer being benchmarked: presets of published models and user overrides.

#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace c2r {

// How gate weights are formed from router logits once the experts are chosen.
enum class GateWeights {
  kSoftmaxOverChosen,  // LLaMA-MoE: softmax over the k chosen logits (renormalised)
  kFullSoftmax,  // Qwen-MoE: full softmax probabilities of the chosen experts, not renormalised
};

struct ModelConfig {
  std::string preset;     // preset name, or "custom"
  int experts = 0;        // E, routed experts per layer
  int top_k = 0;          // k, experts per token
  int hidden = 0;         // H
  int ffn = 0;            // F, routed expert FFN width (SwiGLU)
  int shared_ffn = 0;     // shared expert FFN width every token uses; 0 = none
  int layers = 1;         // layers in the model (for --layer all)
  int default_top_t = 1;  // C2R Top-T used when --top-t is not given
  GateWeights gate_weights = GateWeights::kSoftmaxOverChosen;
  std::string trace_family;  // reference-data family for the trace workload, "" if none

  void validate() const;
  nlohmann::json to_json() const;
};

// Overrides from the command line; unset fields keep the preset's value.
struct ModelOverrides {
  std::optional<int> experts, top_k, hidden, ffn, shared_ffn;
};

std::vector<std::string> preset_names();
// Throws c2r::Error naming the known presets when `name` is not one of them.
ModelConfig make_model(const std::string& name, const ModelOverrides& overrides);

std::string to_string(GateWeights weights);

}  // namespace c2r
