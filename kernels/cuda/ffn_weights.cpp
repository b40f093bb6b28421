// Host-side upload of CPU expert weights (kept out of the .cu files).
#include <cstring>

#include "kernels/cpu/expert_ffn.hpp"
#include "kernels/cuda/expert_ffn.hpp"

namespace c2r::cuda {

uint16_t to_bf16(float value) {
  uint32_t bits;
  std::memcpy(&bits, &value, sizeof bits);
  if ((bits & 0x7f800000u) == 0x7f800000u && (bits & 0x007fffffu) != 0) {
    return static_cast<uint16_t>((bits >> 16) | 0x0040u);  // quiet NaN
  }
  bits += 0x7fffu + ((bits >> 16) & 1u);  // round to nearest, ties to even
  return static_cast<uint16_t>(bits >> 16);
}

float from_bf16(uint16_t bits) {
  const uint32_t wide = static_cast<uint32_t>(bits) << 16;
  float value;
  std::memcpy(&value, &wide, sizeof value);
  return value;
}

namespace {

std::vector<uint16_t> bf16_copy(const std::vector<float>& values) {
  std::vector<uint16_t> out(values.size());
  for (size_t i = 0; i < values.size(); ++i) out[i] = to_bf16(values[i]);
  return out;
}

}  // namespace

DeviceFfnWeights upload_ffn_weights(const FfnWeights& weights, bool with_bf16) {
  DeviceFfnWeights device;
  device.hidden = weights.hidden;
  device.ffn = weights.ffn;
  device.gate_up = DeviceBuffer<float>(weights.gate_up);
  device.down = DeviceBuffer<float>(weights.down);
  if (with_bf16) {
    device.gate_up_bf16 = DeviceBuffer<uint16_t>(bf16_copy(weights.gate_up));
    device.down_bf16 = DeviceBuffer<uint16_t>(bf16_copy(weights.down));
  }
  return device;
}

}  // namespace c2r::cuda
