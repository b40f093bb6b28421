#include "kernels/cpu/gating.hpp"

#include <cmath>

#include "common/error.hpp"
#include "kernels/cpu/blas.hpp"
#include "kernels/selection_rules.hpp"

namespace c2r {

GateSpec GateSpec::vanilla(int experts, int top_k, GateWeights weights) {
  GateSpec spec;
  spec.mode = RoutingMode::kVanilla;
  spec.experts = experts;
  spec.top_k = top_k;
  spec.weights = weights;
  return spec;
}

GateSpec GateSpec::c2r(int experts, int top_k, int top_t, GateWeights weights,
                       const CollaborativeList& list) {
  C2R_CHECK(top_t >= top_k - 1 && top_t <= experts - 1,
            "--top-t " << top_t << " is out of range: C2R with top-k " << top_k << " and "
                       << experts << " experts needs " << top_k - 1 << " <= T <= " << experts - 1);
  C2R_CHECK(list.experts == experts,
            "collaborative list has " << list.experts << " experts, the model has " << experts);
  GateSpec spec = vanilla(experts, top_k, weights);
  spec.mode = RoutingMode::kC2R;
  spec.top_t = top_t;
  spec.top_t_table.reserve(static_cast<size_t>(experts) * top_t);
  for (int e = 0; e < experts; ++e) {
    std::vector<int> row = list.top_t(e, top_t);
    spec.top_t_table.insert(spec.top_t_table.end(), row.begin(), row.end());
  }
  return spec;
}

void router_logits(const float* x, int64_t tokens, int hidden, const float* w_router, int experts,
                   float* logits) {
  if (tokens == 0) return;
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, static_cast<int>(tokens), experts, hidden,
              1.0f, x, hidden, w_router, experts, 0.0f, logits, experts);
}

namespace {

void gate_weights(const float* logit, int experts, const int32_t* chosen, int k, GateWeights mode,
                  float* weights) {
  // chosen[0] holds the largest logit of the token in both routing modes.
  const float top = logit[chosen[0]];
  float denominator = 0.0f;
  if (mode == GateWeights::kSoftmaxOverChosen) {
    for (int j = 0; j < k; ++j) denominator += std::exp(logit[chosen[j]] - top);
  } else {
    for (int e = 0; e < experts; ++e) denominator += std::exp(logit[e] - top);
  }
  for (int j = 0; j < k; ++j) weights[j] = std::exp(logit[chosen[j]] - top) / denominator;
}

}  // namespace

void select_experts(const float* logits, int64_t tokens, const GateSpec& spec, int32_t* expert_ids,
                    float* weights) {
  const int k = spec.top_k;
  const int experts = spec.experts;
  int chosen[64];
  C2R_CHECK(k <= 64, "top-k above 64 is not supported");
  for (int64_t t = 0; t < tokens; ++t) {
    const float* logit = logits + t * experts;
    int count = 0;
    if (spec.mode == RoutingMode::kVanilla) {
      for (int e = 0; e < experts; ++e) count = insert_ranked(logit, e, chosen, count, k);
    } else {
      int first = 0;
      for (int e = 1; e < experts; ++e) {
        if (outranks(logit, e, first)) first = e;
      }
      chosen[0] = first;
      count = 1;
      if (k > 1) {
        const int* allowed = &spec.top_t_table[static_cast<size_t>(first) * spec.top_t];
        int partners = 0;
        for (int i = 0; i < spec.top_t; ++i) {
          partners = insert_ranked(logit, allowed[i], chosen + 1, partners, k - 1);
        }
        count += partners;
      }
    }
    int32_t* ids = expert_ids + t * k;
    for (int j = 0; j < k; ++j) ids[j] = chosen[j];
    gate_weights(logit, experts, ids, k, spec.weights, weights + t * k);
  }
}

}  // namespace c2r
