#include "kernels/cuda/cuda_check.hpp"
#include "kernels/cuda/gating.hpp"
#include "kernels/cpu/selection_rules.hpp"

namespace c2r::cuda {

namespace {

__global__ void select_kernel(const float* logits, int64_t tokens, int experts, int k, int top_t,
                              bool c2r, bool full_softmax, const int32_t* top_t_table,
                              int32_t* expert_ids, float* weights) {
  const int64_t t = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x;
  if (t >= tokens) return;
  const float* logit = logits + t * experts;
  int chosen[kMaxDeviceTopK];
  choose_experts(logit, experts, k, c2r, top_t, top_t_table, chosen);
  for (int j = 0; j < k; ++j) expert_ids[t * k + j] = chosen[j];
  chosen_weights(logit, experts, chosen, k, full_softmax, weights + t * k);
}

__global__ void sigmoid_kernel(float* values, int64_t n) {
  const int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x;
  if (i < n) values[i] = 1.0f / (1.0f + expf(-values[i]));
}

}  // namespace

void shared_expert_gate(const Blas& blas, const float* x, int64_t tokens, int hidden,
                        const float* w, float* scale) {
  if (tokens == 0) return;
  // Row-major x [T x H] is column-major x^T [H x T]: scale = (x^T)^T w.
  const float one = 1.0f, zero = 0.0f;
  C2R_CUBLAS_CHECK(cublasSgemv(static_cast<cublasHandle_t>(blas.handle()), CUBLAS_OP_T, hidden,
                               static_cast<int>(tokens), &one, x, hidden, w, 1, &zero, scale, 1));
  sigmoid_kernel<<<static_cast<unsigned>((tokens + 255) / 256), 256>>>(scale, tokens);
  C2R_CUDA_CHECK_LAUNCH();
}

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
