#pragma once
// GPU expert FFN (SwiGLU): out = down(silu(x * W_gate) * (x * W_up)) with cuBLAS, grouped over
// variable-size expert groups (rows of expert e are contiguous after the permute). fp32 inputs,
// fp32 accumulation.

#include <cstdint>
#include <vector>

#include "kernels/cuda/device.hpp"

namespace c2r {
struct FfnWeights;
}

namespace c2r::cuda {

// One expert's weights on the device, laid out as c2r::FfnWeights:
// gate_up [hidden x 2*ffn] (gate columns first), down [ffn x hidden], row-major.
// The bf16 copies (raw bfloat16 bits, rounded to nearest even) are made only when asked for.
struct DeviceFfnWeights {
  int hidden = 0;
  int ffn = 0;
  DeviceBuffer<float> gate_up;
  DeviceBuffer<float> down;
  DeviceBuffer<uint16_t> gate_up_bf16;
  DeviceBuffer<uint16_t> down_bf16;
};

DeviceFfnWeights upload_ffn_weights(const FfnWeights& weights, bool with_bf16 = false);

// float -> bfloat16 bits, rounding to nearest even (NaN kept a NaN); and back.
uint16_t to_bf16(float value);
float from_bf16(uint16_t bits);

// Scratch floats grouped_swiglu_ffn needs for groups of at most `max_rows` rows.
inline int64_t ffn_scratch_floats(int64_t max_rows, int ffn) {
  return max_rows * 3 * static_cast<int64_t>(ffn);
}

// Expert e computes rows [offsets[e], offsets[e + 1]) of x [rows x hidden] into the same rows of
// out. experts: [E] device weights; offsets: [E + 1] on the host; scratch: device, at least
// ffn_scratch_floats(largest group, ffn) floats.
void grouped_swiglu_ffn(const Blas& blas, const std::vector<const DeviceFfnWeights*>& experts,
                        const std::vector<int64_t>& offsets, const float* x, float* out,
                        float* scratch);

// The same with bf16 inputs (x and the weights' bf16 copies) and fp32 accumulation: the gate/up
// product is kept in fp32, the SwiGLU activation is rounded to bf16 for the down GEMM, out is fp32.
// scratch: device, at least ffn_scratch_floats(largest group, ffn) floats.
void grouped_swiglu_ffn_bf16(const Blas& blas, const std::vector<const DeviceFfnWeights*>& experts,
                             const std::vector<int64_t>& offsets, const uint16_t* x, float* out,
                             float* scratch);

// The same-run ceiling: the grouped FFN's two GEMMs as one dense GEMM pair over `rows` rows with
// one expert's weights (no activation), fp32 or bf16 (x then holds bf16 bits). scratch as above.
void dense_ffn_gemms(const Blas& blas, const DeviceFfnWeights& w, const void* x, int64_t rows,
                     bool bf16, float* out, float* scratch);

}  // namespace c2r::cuda
