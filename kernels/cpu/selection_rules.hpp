#pragma once
// The expert-selection rules the CPU and CUDA gates share, so that both choose the same experts in
// the same order (a higher logit wins, an equal logit goes to the lower expert id) with the same
// gate weights.

#include <math.h>

#ifdef __CUDACC__
#define C2R_HOST_DEVICE __host__ __device__
#else
#define C2R_HOST_DEVICE
#endif

namespace c2r {

// a outranks b: higher logit, or equal logit and lower id.
C2R_HOST_DEVICE inline bool outranks(const float* logit, int a, int b) {
  return logit[a] > logit[b] || (logit[a] == logit[b] && a < b);
}

// Inserts `candidate` into chosen[0..count) kept in rank order, capacity `k`. Returns new count.
C2R_HOST_DEVICE inline int insert_ranked(const float* logit, int candidate, int* chosen, int count,
                                         int k) {
  int pos = count < k ? count : k;
  if (count == k && !outranks(logit, candidate, chosen[k - 1])) return count;
  while (pos > 0 && outranks(logit, candidate, chosen[pos - 1])) {
    if (pos < k) chosen[pos] = chosen[pos - 1];
    --pos;
  }
  chosen[pos] = candidate;
  return count < k ? count + 1 : k;
}

// One token's experts, in rank order: vanilla takes the k highest logits; C2R takes e1 = the
// argmax, then the k-1 highest within Top-T(e1) (row e1 of top_t_table [experts x top_t]).
// chosen: [k].
C2R_HOST_DEVICE inline void choose_experts(const float* logit, int experts, int k, bool c2r,
                                           int top_t, const int* top_t_table, int* chosen) {
  if (!c2r) {
    int count = 0;
    for (int e = 0; e < experts; ++e) count = insert_ranked(logit, e, chosen, count, k);
    return;
  }
  int first = 0;
  for (int e = 1; e < experts; ++e) {
    if (outranks(logit, e, first)) first = e;
  }
  chosen[0] = first;
  const int* allowed = top_t_table + static_cast<long long>(first) * top_t;
  int partners = 0;
  for (int i = 0; k > 1 && i < top_t; ++i) {
    partners = insert_ranked(logit, allowed[i], chosen + 1, partners, k - 1);
  }
}

// Gate weights of the chosen experts: softmax over their logits (LLaMA-MoE), or their
// probabilities under the full softmax (Qwen-MoE). chosen[0] holds the token's largest logit.
C2R_HOST_DEVICE inline void chosen_weights(const float* logit, int experts, const int* chosen,
                                           int k, bool full_softmax, float* weights) {
  const float top = logit[chosen[0]];
  float denominator = 0.0f;
  if (full_softmax) {
    for (int e = 0; e < experts; ++e) denominator += expf(logit[e] - top);
  } else {
    for (int j = 0; j < k; ++j) denominator += expf(logit[chosen[j]] - top);
  }
  for (int j = 0; j < k; ++j) weights[j] = expf(logit[chosen[j]] - top) / denominator;
}

}  // namespace c2r
