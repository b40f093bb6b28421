#pragma once
// Where a layer's tokens and their routing come from, shared by `run` (which times the gate on
// them) and `tune` (which only needs the chosen experts): the workload's tokens, C2R's Top-T lists
// (published, or profiled from vanilla routing of the same tokens) and the gate.

#include <map>
#include <string>
#include <vector>

#include "common/communicator.hpp"
#include "kernels/cpu/gating.hpp"
#include "model/data_store.hpp"
#include "model/workload.hpp"

namespace c2r {

// The gate phase: logits, selection, and the shared expert's sigmoid gate.
// logits: [T x E], expert_ids/weights: [T x k], shared_scale: [T] (empty without a shared expert).
void run_gate(const TokenBatch& batch, const ModelConfig& model, const GateSpec& gate,
              float* logits, int32_t* expert_ids, float* weights, std::vector<float>& shared_scale);

// Whether `workload` draws routing from the pair trace: the trace workload of a top-2 model, whose
// data are the expert-pair counts (collaboration matrices) of its family, without a user trace.
// Decided by the model and the options alone, never by which files exist: a missing trace file is
// an error where it is read, not a reason to route synthetic tokens under the trace's name.
bool uses_pair_trace(const ModelConfig& model, const WorkloadSpec& workload);
// Whether `workload` routes with a user's trace (`--trace FILE`): every token's k experts are a row
// of it, and C2R's Top-T lists are profiled from its (vanilla) routing.
bool uses_user_trace(const WorkloadSpec& workload);

class RoutingSource {
 public:
  // This rank owns global tokens [first_token, first_token + tokens) of each layer (ranks may own
  // different counts, zero included). Collective for a trace workload without a pair trace: its
  // collaborative list, the only trace data it has, or the user's trace, is read at once, whatever
  // the routing, so that a run labelled `trace` never runs without it.
  RoutingSource(const ModelConfig& model, const WorkloadSpec& workload, int64_t first_token,
                int64_t tokens, const Communicator& comm, DataStore& data);

  // Whether routing is drawn from the pair trace (uses_pair_trace).
  bool pair_trace() const;
  // Whether routing is a user's trace (uses_user_trace).
  bool user_trace() const;
  // Whether the tokens are designed for known experts (TokenBatch::trace_experts: a pair trace or
  // a user trace), so the gate's choice can be checked against them (trace_match).
  bool designed_routing() const { return pair_trace() || user_trace(); }
  // The data file of the pair trace for (routing, Top-T).
  std::string pair_trace_file(RoutingMode routing, int top_t) const;
  // Collective: reads the trace data that (layer, routing, Top-T) routes with (its pair trace, the
  // collaborative list for C2R or for a trace without pairs, or the user's trace) and checks that
  // it has the layer and the model's experts and top-k. Throws c2r::Error raised on all ranks,
  // naming the file. Nothing to read for synthetic workloads.
  void check_data(int layer, RoutingMode routing, int top_t);

  // Collective for synthetic workloads (the list is profiled over every rank's tokens).
  // `source` says where the list came from.
  const CollaborativeList& c2r_list(int layer, std::string* source);
  GateSpec gate(int layer, RoutingMode routing, int top_t, std::string* list_source);
  // This rank's tokens of `layer` with hidden states and router weights.
  TokenBatch batch(int layer, RoutingMode routing, int top_t);
  // Collective. The experts chosen for this rank's tokens, [tokens x k], without timing
  // anything: the trace's sampled pairs (which its gate reproduces exactly), or the gate run on
  // the workload's tokens (a user trace's designed tokens included: C2R changes their routing;
  // logits are kept per layer, so several Top-T of one layer share them).
  std::vector<int32_t> expert_ids(int layer, RoutingMode routing, int top_t);

 private:
  const ModelConfig& model_;
  const WorkloadSpec& workload_;
  int64_t first_token_;
  int64_t tokens_;
  const Communicator& comm_;
  DataStore& data_;
  std::map<int, CollaborativeList> profiled_lists_;  // layer -> list profiled from vanilla routing
  int logits_layer_ = -1;
  std::vector<float> logits_;  // [tokens x E] of logits_layer_
};

}  // namespace c2r
