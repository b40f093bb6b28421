#pragma once
// The MoE layer suite on NVIDIA GPUs (`run --backend cuda`, one rank per GPU): the same cells,
// tokens, routing, placements, report and check as the CPU suite, with every step on the device
// (CUDA kernels) and the exchange over NCCL. The steps are the shared ones
// (bench/layer_steps.hpp), each followed by a device synchronisation so that the harness's clock
// charges it its own time; the exchange steps are the strategy's device steps
// (collectives/device_exchange.hpp). Each cell is a CellRun that the schedule times.

#include <map>
#include <optional>

#include <nlohmann/json.hpp>

#include "bench/layer_suite.hpp"
#include "collectives/cuda/device_exchange.hpp"
#include "collectives/cuda/device_transport.hpp"
#include "kernels/cuda/device.hpp"
#include "kernels/cuda/expert_ffn.hpp"
#include "kernels/cuda/permute.hpp"

namespace c2r {

class CudaLayerSuite {
 public:
  // Collective: sets up the transport `exchange` names (cuda::make_device_transport: "nccl", one
  // GPU per rank, or "mpi") over `comm`. Throws c2r::Error without a device, or when a cell's
  // strategy has no device steps.
  CudaLayerSuite(const RunConfig& config, const Communicator& comm, LayerSuite& suite,
                 const std::string& exchange);

  // Collective: every rank calls it with the same cell. The cell's layer on the device with its
  // inputs uploaded, ready for the schedule to time.
  std::unique_ptr<CellRun> start_cell(const Cell& cell);

  // Every rank's GPU (cuda::take_gpus), for the report's context.
  const nlohmann::json& devices() const { return transport_->devices(); }

 private:
  class Layer;          // one cell's device inputs and steps
  class DeviceCellRun;  // one cell's layer and ceilings
  const cuda::DeviceFfnWeights& expert(int e);
  // The cell's tokens, router, gate, placement tables and buffers, on the device.
  void upload(const Cell& cell, const Placement& placement, Layer& layer);

  const RunConfig& config_;
  const Communicator& comm_;
  LayerSuite& suite_;
  std::unique_ptr<cuda::DeviceTransport> transport_;
  cuda::Blas blas_;
  cuda::PairSorter sorter_;
  std::map<int, cuda::DeviceFfnWeights> experts_;  // uploaded on first use
  std::optional<cuda::DeviceFfnWeights> shared_;   // the shared expert, uploaded on first use
};

}  // namespace c2r
