#pragma once
// The MoE layer suite on NVIDIA GPUs (`run --backend cuda`, one rank per GPU): the same cells,
// tokens, routing, placements, report and check as the CPU suite, with every step on the device
// (CUDA kernels) and the exchange over NCCL. The steps are the shared ones
// (bench/layer_steps.hpp), each followed by a device synchronisation so that the harness's clock
// charges it its own time; the exchange steps are the strategy's device steps
// (collectives/device_exchange.hpp).

#include <map>
#include <optional>

#include <nlohmann/json.hpp>

#include "bench/layer_suite.hpp"
#include "collectives/cuda/device_exchange.hpp"
#include "collectives/cuda/nccl_exchange.hpp"
#include "kernels/cuda/device.hpp"
#include "kernels/cuda/expert_ffn.hpp"
#include "kernels/cuda/permute.hpp"

namespace c2r {

class CudaLayerSuite {
 public:
  // Collective: sets up NCCL over `comm` (one GPU per rank). Throws c2r::Error without a device,
  // or when a cell's strategy has no device steps.
  CudaLayerSuite(const RunConfig& config, const Communicator& comm, LayerSuite& suite);

  // Collective: every rank calls it with the same cell. Returns the cell's result.
  CellResult run_cell(const Cell& cell);

 private:
  class Layer;  // one cell's device inputs and steps
  const cuda::DeviceFfnWeights& expert(int e);
  // Times the same-run ceilings: a dense GEMM pair of the routed rows, and the exchanges' rows.
  void time_ceilings(Layer& layer, CellMeasurement& m);

  const RunConfig& config_;
  const Communicator& comm_;
  LayerSuite& suite_;
  cuda::NcclComm nccl_;
  cuda::Blas blas_;
  cuda::PairSorter sorter_;
  std::map<int, cuda::DeviceFfnWeights> experts_;  // uploaded on first use
  std::optional<cuda::DeviceFfnWeights> shared_;   // the shared expert, uploaded on first use
};

}  // namespace c2r
