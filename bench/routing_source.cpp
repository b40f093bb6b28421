#include "bench/routing_source.hpp"

#include <cmath>

#include "kernels/cpu/blas.hpp"

namespace c2r {

void run_gate(const TokenBatch& batch, const ModelConfig& model, const GateSpec& gate,
              float* logits, int32_t* expert_ids, float* weights,
              std::vector<float>& shared_scale) {
  router_logits(batch.x.data(), batch.tokens, model.hidden, batch.w_router.data(), model.experts,
                logits);
  select_experts(logits, batch.tokens, gate, expert_ids, weights);
  if (!batch.w_shared_gate.empty() && batch.tokens > 0) {
    cblas_sgemv(CblasRowMajor, CblasNoTrans, static_cast<int>(batch.tokens), model.hidden, 1.0f,
                batch.x.data(), model.hidden, batch.w_shared_gate.data(), 1, 0.0f,
                shared_scale.data(), 1);
    for (auto& s : shared_scale) s = 1.0f / (1.0f + std::exp(-s));
  }
}

RoutingSource::RoutingSource(const ModelConfig& model, const WorkloadSpec& workload,
                             int64_t first_token, int64_t tokens, const Communicator& comm,
                             DataStore& data)
    : model_(model),
      workload_(workload),
      first_token_(first_token),
      tokens_(tokens),
      comm_(comm),
      data_(data) {}

bool RoutingSource::pair_trace() const {
  return workload_.kind == WorkloadKind::kTrace && model_.top_k == 2 &&
         data_.reference_file_exists(collaboration_matrix_file(model_.trace_family, "vanilla", 0));
}

std::string RoutingSource::pair_trace_file(RoutingMode routing, int top_t) const {
  return collaboration_matrix_file(model_.trace_family,
                                   routing == RoutingMode::kC2R ? "c2r" : "vanilla",
                                   routing == RoutingMode::kC2R ? top_t : 0);
}

const CollaborativeList& RoutingSource::c2r_list(int layer, std::string* source) {
  if (workload_.kind == WorkloadKind::kTrace) {
    const std::string file = collaborative_list_file(model_.trace_family);
    *source = "published list " + file;
    return data_.collaborative_list(file).layers.at(layer);
  }
  *source = "profiled from vanilla routing of this workload";
  auto it = profiled_lists_.find(layer);
  if (it != profiled_lists_.end()) return it->second;
  // As the paper does: profile co-activation under vanilla routing of the same tokens.
  const std::vector<int32_t> ids = expert_ids(layer, RoutingMode::kVanilla, 0);
  CollaborationMatrix counts = coactivation_counts(ids, model_.top_k, model_.experts);
  comm_.allreduce_sum(counts.counts);
  return profiled_lists_.emplace(layer, collaborative_list_from(counts)).first->second;
}

GateSpec RoutingSource::gate(int layer, RoutingMode routing, int top_t, std::string* list_source) {
  if (routing == RoutingMode::kVanilla) {
    return GateSpec::vanilla(model_.experts, model_.top_k, model_.gate_weights);
  }
  return GateSpec::c2r(model_.experts, model_.top_k, top_t, model_.gate_weights,
                       c2r_list(layer, list_source));
}

TokenBatch RoutingSource::batch(int layer, RoutingMode routing, int top_t) {
  if (!pair_trace()) {
    return make_synthetic_batch(model_, workload_, layer, first_token_, tokens_);
  }
  std::string unused;
  const CollaborativeList* list =
      routing == RoutingMode::kC2R ? &c2r_list(layer, &unused) : nullptr;
  const CollaborationMatrix& pairs =
      data_.collaboration_matrix(pair_trace_file(routing, top_t)).layers.at(layer);
  return make_trace_batch(model_, workload_, layer, pairs, list, top_t, first_token_, tokens_);
}

std::vector<int32_t> RoutingSource::expert_ids(int layer, RoutingMode routing, int top_t) {
  const int k = model_.top_k;
  std::string unused;
  if (pair_trace()) {
    const CollaborativeList* list =
        routing == RoutingMode::kC2R ? &c2r_list(layer, &unused) : nullptr;
    const CollaborationMatrix& pairs =
        data_.collaboration_matrix(pair_trace_file(routing, top_t)).layers.at(layer);
    return sample_trace_pairs(model_, workload_, layer, pairs, list, top_t, first_token_, tokens_);
  }
  const GateSpec spec = gate(layer, routing, top_t, &unused);  // may profile (and fill logits_)
  if (logits_layer_ != layer) {
    const TokenBatch tokens = batch(layer, routing, top_t);
    logits_.resize(tokens_ * model_.experts);
    router_logits(tokens.x.data(), tokens.tokens, model_.hidden, tokens.w_router.data(),
                  model_.experts, logits_.data());
    logits_layer_ = layer;
  }
  std::vector<int32_t> ids(tokens_ * k);
  std::vector<float> weights(tokens_ * k);
  select_experts(logits_.data(), tokens_, spec, ids.data(), weights.data());
  return ids;
}

}  // namespace c2r
