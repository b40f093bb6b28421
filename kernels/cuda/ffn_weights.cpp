// Host-side upload of CPU expert weights (kept out of the .cu files).
#include "kernels/cpu/expert_ffn.hpp"
#include "kernels/cuda/expert_ffn.hpp"

namespace c2r::cuda {

DeviceFfnWeights upload_ffn_weights(const FfnWeights& weights) {
  DeviceFfnWeights device;
  device.hidden = weights.hidden;
  device.ffn = weights.ffn;
  device.gate_up = DeviceBuffer<float>(weights.gate_up);
  device.down = DeviceBuffer<float>(weights.down);
  return device;
}

}  // namespace c2r::cuda
