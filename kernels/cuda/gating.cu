#include "kernels/cuda/cuda_check.hpp"
#include "kernels/cuda/gating.hpp"
#include "kernels/selection_rules.hpp"

namespace c2r::cuda {

namespace {

__global__ void select_kernel(const float* logits, int64_t tokens, int experts, int k, int top_t,
                              bool c2r, bool full_softmax, const int32_t* top_t_table,
                              int32_t* expert_ids, float* weights) {
  const int64_t t = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x;
  if (t >= tokens) return;
  const float* logit = logits + t * experts;
  int chosen[kMaxDeviceTopK];
  if (!c2r) {
    int count = 0;
    for (int e = 0; e < experts; ++e) count = insert_ranked(logit, e, chosen, count, k);
  } else {
    int first = 0;
    for (int e = 1; e < experts; ++e) {
      if (outranks(logit, e, first)) first = e;
    }
    chosen[0] = first;
    if (k > 1) {
      const int32_t* allowed = top_t_table + static_cast<int64_t>(first) * top_t;
      int partners = 0;
      for (int i = 0; i < top_t; ++i) {
        partners = insert_ranked(logit, allowed[i], chosen + 1, partners, k - 1);
      }
    }
  }
  // Gate weights: softmax over the chosen logits, or the full softmax's chosen probabilities.
  const float top = logit[chosen[0]];
  float denominator = 0.0f;
  if (full_softmax) {
    for (int e = 0; e < experts; ++e) denominator += expf(logit[e] - top);
  } else {
    for (int j = 0; j < k; ++j) denominator += expf(logit[chosen[j]] - top);
  }
  for (int j = 0; j < k; ++j) {
    expert_ids[t * k + j] = chosen[j];
    weights[t * k + j] = expf(logit[chosen[j]] - top) / denominator;
  }
}

}  // namespace

void router_logits(const Blas& blas, const float* x, int64_t tokens, int hidden,
                   const float* w_router, int experts, float* logits) {
  if (tokens == 0) return;
  // Row-major C = A B is column-major C^T = B^T A^T.
  const float one = 1.0f, zero = 0.0f;
  C2R_CUBLAS_CHECK(cublasSgemm(static_cast<cublasHandle_t>(blas.handle()), CUBLAS_OP_N, CUBLAS_OP_N,
                               experts, static_cast<int>(tokens), hidden, &one, w_router, experts,
                               x, hidden, &zero, logits, experts));
}

void select_experts(const float* logits, int64_t tokens, const DeviceGateSpec& spec,
                    int32_t* expert_ids, float* weights) {
  if (tokens == 0) return;
  constexpr int kThreads = 128;
  const int64_t blocks = (tokens + kThreads - 1) / kThreads;
  select_kernel<<<static_cast<unsigned>(blocks), kThreads>>>(
      logits, tokens, spec.experts, spec.top_k, spec.top_t, spec.c2r, spec.full_softmax,
      spec.top_t_table.data(), expert_ids, weights);
  C2R_CUDA_CHECK_LAUNCH();
}

}  // namespace c2r::cuda
