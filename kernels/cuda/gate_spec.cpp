// Host-side translation of the CPU gate spec (kept out of the .cu files, which need no model
// headers).
#include "common/error.hpp"
#include "kernels/cpu/gating.hpp"
#include "kernels/cuda/gating.hpp"

namespace c2r::cuda {

DeviceGateSpec make_device_gate(const GateSpec& spec) {
  C2R_CHECK(spec.top_k >= 1 && spec.top_k <= kMaxDeviceTopK,
            "the CUDA gate handles top-k 1.." << kMaxDeviceTopK << " (got " << spec.top_k << ")");
  DeviceGateSpec device;
  device.experts = spec.experts;
  device.top_k = spec.top_k;
  device.top_t = spec.top_t;
  device.c2r = spec.mode == RoutingMode::kC2R;
  device.full_softmax = spec.weights == GateWeights::kFullSoftmax;
  if (device.c2r) {
    device.top_t_table = DeviceBuffer<int32_t>(
        std::vector<int32_t>(spec.top_t_table.begin(), spec.top_t_table.end()));
  }
  return device;
}

}  // namespace c2r::cuda
