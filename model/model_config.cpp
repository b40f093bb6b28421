#include "model/model_config.hpp"

#include "common/error.hpp"

namespace c2r {

namespace {

ModelConfig llama_moe_3_5b() {
  ModelConfig m;
  m.preset = "llama-moe-3.5b";
  m.experts = 8;
  m.top_k = 2;
  m.hidden = 4096;
  m.ffn = 1376;
  m.shared_ffn = 0;
  m.layers = 32;
  m.default_top_t = 1;  // the most constrained published C2R trace
  m.gate_weights = GateWeights::kSoftmaxOverChosen;
  m.trace_family = "llama-moe-3.5b";
  return m;
}

ModelConfig qwen1_5_moe_a2_7b() {
  ModelConfig m;
  m.preset = "qwen1.5-moe-a2.7b";
  m.experts = 60;
  m.top_k = 4;
  m.hidden = 2048;
  m.ffn = 1408;
  m.shared_ffn = 5632;
  m.layers = 24;
  m.default_top_t = 30;  // the published Qwen C2R configuration
  m.gate_weights = GateWeights::kFullSoftmax;
  m.trace_family = "qwen1.5-moe-a2.7b";
  return m;
}

}  // namespace

std::vector<std::string> preset_names() {
  return {"llama-moe-3.5b", "qwen1.5-moe-a2.7b"};
}

std::string to_string(GateWeights weights) {
  return weights == GateWeights::kSoftmaxOverChosen ? "softmax-over-chosen" : "full-softmax";
}

ModelConfig make_model(const std::string& name, const ModelOverrides& overrides) {
  ModelConfig m;
  if (name == "llama-moe-3.5b") {
    m = llama_moe_3_5b();
  } else if (name == "qwen1.5-moe-a2.7b") {
    m = qwen1_5_moe_a2_7b();
  } else {
    std::string known;
    for (const auto& p : preset_names()) known += (known.empty() ? "" : ", ") + p;
    throw Error("unknown preset '" + name + "' (known: " + known + ")");
  }
  if (overrides.experts) m.experts = *overrides.experts;
  if (overrides.top_k) m.top_k = *overrides.top_k;
  if (overrides.hidden) m.hidden = *overrides.hidden;
  if (overrides.ffn) m.ffn = *overrides.ffn;
  if (overrides.shared_ffn) m.shared_ffn = *overrides.shared_ffn;
  m.validate();
  return m;
}

void ModelConfig::validate() const {
  C2R_CHECK(experts >= 1, "a model needs at least 1 expert (got " << experts << ")");
  C2R_CHECK(top_k >= 1 && top_k <= experts, "top-k must be between 1 and the number of experts "
                                                << experts << " (got " << top_k << ")");
  C2R_CHECK(hidden >= 1, "the hidden size must be at least 1 (got " << hidden << ")");
  C2R_CHECK(ffn >= 1, "the expert FFN width must be at least 1 (got " << ffn << ")");
  C2R_CHECK(shared_ffn >= 0, "the shared expert's FFN width must be 0 (none) or positive (got "
                                 << shared_ffn << ")");
}

nlohmann::json ModelConfig::to_json() const {
  return {{"preset", preset},
          {"experts", experts},
          {"top_k", top_k},
          {"hidden", hidden},
          {"ffn", ffn},
          {"shared_ffn", shared_ffn},
          {"gate_weights", to_string(gate_weights)},
          {"dtype", "float32"}};
}

}  // namespace c2r
