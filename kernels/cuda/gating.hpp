#pragma once
// GPU gate kernels: router GEMM (cuBLAS) and top-k / C2R expert selection with the same results as
// the CPU kernels (same ties: the lower expert id; same order: descending logit, e1 first).

#include <cstdint>

#include "kernels/cuda/device.hpp"

namespace c2r {
struct GateSpec;
}

namespace c2r::cuda {

constexpr int kMaxDeviceTopK = 16;

// What the selection kernel needs, on the device.
struct DeviceGateSpec {
  int experts = 0;
  int top_k = 0;
  int top_t = 0;              // C2R only
  bool c2r = false;           // false: vanilla top-k
  bool full_softmax = false;  // weights: full softmax (Qwen) or softmax over the chosen (LLaMA)
  DeviceBuffer<int32_t> top_t_table;  // [experts x top_t], C2R only
};

// Uploads a CPU gate spec. Throws c2r::Error above kMaxDeviceTopK.
DeviceGateSpec make_device_gate(const GateSpec& spec);

// logits[tokens x experts] = x[tokens x hidden] * w_router[hidden x experts], row-major, device.
void router_logits(const Blas& blas, const float* x, int64_t tokens, int hidden,
                   const float* w_router, int experts, float* logits);

// One thread per token. expert_ids, weights: [tokens x top_k], device.
void select_experts(const float* logits, int64_t tokens, const DeviceGateSpec& spec,
                    int32_t* expert_ids, float* weights);

// The shared expert's gate: scale[t] = sigmoid(x[t] . w), x: [tokens x hidden], w: [hidden].
void shared_expert_gate(const Blas& blas, const float* x, int64_t tokens, int hidden,
                        const float* w, float* scale);

}  // namespace c2r::cuda
