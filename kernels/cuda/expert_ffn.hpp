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
struct DeviceFfnWeights {
  int hidden = 0;
  int ffn = 0;
  DeviceBuffer<float> gate_up;
  DeviceBuffer<float> down;
};

DeviceFfnWeights upload_ffn_weights(const FfnWeights& weights);

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

}  // namespace c2r::cuda
