#include "bench/routing_source.hpp"

#include <cmath>
#include <string>

#include "common/error.hpp"
#include "kernels/cpu/blas.hpp"
#include "model/routing_trace.hpp"

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
      data_(data) {
  if (user_trace()) {
    data_.routing_trace(workload_.trace_file);
  } else if (workload_.kind == WorkloadKind::kTrace && !pair_trace()) {
    data_.collaborative_list(collaborative_list_file(model_.trace_family));
  }
}

bool uses_pair_trace(const ModelConfig& model, const WorkloadSpec& workload) {
  return workload.kind == WorkloadKind::kTrace && !uses_user_trace(workload) && model.top_k == 2;
}

bool uses_user_trace(const WorkloadSpec& workload) {
  return workload.kind == WorkloadKind::kTrace && !workload.trace_file.empty();
}

bool RoutingSource::pair_trace() const {
  return uses_pair_trace(model_, workload_);
}

bool RoutingSource::user_trace() const {
  return uses_user_trace(workload_);
}

void RoutingSource::check_data(int layer, RoutingMode routing, int top_t) {
  if (workload_.kind != WorkloadKind::kTrace) return;
  // The same checks as the data's use: a layer it lacks, or another model's data, would fail
  // deep inside routing (or route with the wrong experts) instead of naming the file.
  const auto check_shape = [&](const std::string& file, int layers, int experts, int top_k) {
    const std::string path = data_.reference_path(file);
    C2R_CHECK(experts == model_.experts && (top_k == 0 || top_k == model_.top_k),
              path << " is for " << experts << " experts"
                   << (top_k > 0 ? " and top-" + std::to_string(top_k) : std::string())
                   << "; the model has " << model_.experts << " experts and top-" << model_.top_k);
    C2R_CHECK(layer >= 0 && layer < layers,
              "layer " << layer << " is not in " << path << " (layers 0.." << layers - 1 << ")");
  };
  try {
    if (user_trace()) {
      const RoutingTrace& trace = data_.routing_trace(workload_.trace_file);
      C2R_CHECK(trace.experts == model_.experts && trace.top_k == model_.top_k,
                workload_.trace_file << " is for " << trace.experts << " experts and top-"
                                     << trace.top_k << "; the model has " << model_.experts
                                     << " experts and top-" << model_.top_k);
      C2R_CHECK(trace.find(layer) != nullptr,
                "layer " << layer << " is not in " << workload_.trace_file
                         << " (its layers: " << describe_layers(trace.layer_numbers()) << ")");
      return;
    }
    if (routing == RoutingMode::kC2R || !pair_trace()) {
      const std::string file = collaborative_list_file(model_.trace_family);
      const LayerCollaborativeLists& lists = data_.collaborative_list(file);
      check_shape(file, static_cast<int>(lists.layers.size()), lists.layers.front().experts, 0);
    }
    if (pair_trace()) {
      const std::string file = pair_trace_file(routing, top_t);
      const LayerCollaboration& pairs = data_.collaboration_matrix(file);
      check_shape(file, static_cast<int>(pairs.layers.size()), pairs.layers.front().experts,
                  pairs.top_k);
    }
  } catch (const Error& e) {
    if (e.raised_on_all_ranks()) throw;
    throw Error::on_all_ranks(e.what());  // every rank checks the same data alike
  }
}

std::string RoutingSource::pair_trace_file(RoutingMode routing, int top_t) const {
  return collaboration_matrix_file(model_.trace_family,
                                   routing == RoutingMode::kC2R ? "c2r" : "vanilla",
                                   routing == RoutingMode::kC2R ? top_t : 0);
}

const CollaborativeList& RoutingSource::c2r_list(int layer, std::string* source) {
  if (workload_.kind == WorkloadKind::kTrace && !user_trace()) {
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
  if (user_trace()) {
    // Every routing gets the tokens designed for the trace's experts; C2R's gate then chooses
    // within Top-T, as for any workload.
    const TraceLayer* rows = data_.routing_trace(workload_.trace_file).find(layer);
    C2R_CHECK(rows != nullptr, "layer " << layer << " is not in " << workload_.trace_file);
    return make_designed_batch(model_, workload_, layer,
                               rows->rows_for(first_token_, tokens_, model_.top_k), first_token_,
                               tokens_);
  }
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
