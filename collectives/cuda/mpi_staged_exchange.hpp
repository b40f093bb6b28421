#pragma once
// The MPI transport of the CUDA backend (`run --backend cuda --exchange mpi`,
// collectives/cuda/device_transport.hpp): device rows are copied to host memory, exchanged with
// MPI_Alltoall / MPI_Alltoallv and copied back. Several ranks may share one GPU, so a machine
// with a single GPU checks the multi-rank layouts of every device kernel (`--check` at 2-4 ranks).
// Its timings include two host copies per exchange and stand for no production exchange; the
// report says so. Plain C++ header.

#include <cstdint>
#include <vector>

#include <nlohmann/json.hpp>

#include "collectives/cuda/device_transport.hpp"
#include "common/communicator.hpp"

namespace c2r::cuda {

class MpiStagedExchange final : public DeviceTransport {
 public:
  // Collective over `mpi`: each rank takes its GPU (take_gpus; ranks may share one). Throws
  // c2r::Error raised on every rank when some rank has no device or a bad C2R_DEVICE.
  explicit MpiStagedExchange(const Communicator& mpi);

  int rank() const override { return mpi_.rank(); }
  int size() const override { return mpi_.size(); }
  const nlohmann::json& devices() const override { return devices_; }

  // Synchronous: returns with recv_counts written.
  void exchange_counts(const int64_t* send_counts, int64_t* recv_counts,
                       int per_peer = 1) const override;
  // Synchronous: returns with the rows in `recv`.
  void alltoallv_rows(const void* send, void* recv, const AlltoallvLayout& layout,
                      int64_t row_bytes) const override;
  void wait() const override;

 private:
  const Communicator& mpi_;
  nlohmann::json devices_;
  // Host staging, grown to the largest exchange and reused: [send rows x row bytes],
  // [recv rows x row bytes], and the counts [size x per_peer] each way.
  mutable std::vector<char> send_host_, recv_host_;
  mutable std::vector<int64_t> send_counts_host_, recv_counts_host_;
};

}  // namespace c2r::cuda
