#pragma once
// The MoE layer suite on NVIDIA GPUs (`run --backend cuda`, one rank per GPU): the same cells,
// tokens, routing, placements, report and check as the CPU suite, with every phase on the device
// (CUDA kernels) and the exchange over NCCL. Phases are separated by a device synchronisation and
// timed on the harness's clock (per-iteration maximum over ranks), as on the CPU.

#include <map>
#include <memory>
#include <optional>

#include <nlohmann/json.hpp>

#include "collectives/nccl_exchange.hpp"
#include "kernels/cuda/device.hpp"
#include "kernels/cuda/expert_ffn.hpp"
#include "kernels/cuda/permute.hpp"
#include "suites/layer_suite.hpp"

namespace c2r {

class CudaLayerSuite {
 public:
  // Collective: sets up NCCL over `comm` (one GPU per rank). Throws c2r::Error without a device.
  CudaLayerSuite(const RunConfig& config, const Communicator& comm, LayerSuite& suite);

  // Collective: every rank calls it with the same cell. Returns the cell's result.
  CellResult run_cell(const Cell& cell);

 private:
  struct DeviceCell;  // one cell's device inputs and buffers
  const cuda::DeviceFfnWeights& expert(int e);
  CellMeasurement run_dropless(DeviceCell& c);
  CellMeasurement run_dedup(DeviceCell& c);
  CellMeasurement run_padded(DeviceCell& c);
  // The phases after the exchange of dropless and padded: the grouped FFN over `blocks` of the
  // received rows into expert_out, the shared expert, the combine of expert_out, and the weighted
  // unpermute of the returned rows at `position` (per pair).
  void experts_and_back(DeviceCell& c, PhaseClock& clock,
                        const std::vector<const cuda::DeviceFfnWeights*>& blocks,
                        const std::vector<int64_t>& block_offsets, float* expert_out,
                        const int64_t* position);
  // Times the same-run ceilings: a dense GEMM pair of the routed rows, and the exchanges' rows.
  void time_ceilings(DeviceCell& c, const float* routed, int64_t routed_rows, CellMeasurement& m);

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
