#pragma once
// The NCCL transport of the CUDA backend (collectives/cuda/device_transport.hpp): one communicator
// over the job's MPI ranks, one GPU per rank; per-peer row counts exchanged on the device, and a
// variable all2all of rows as grouped ncclSend / ncclRecv (no all2all collective is needed).
// Plain C++ header.

#include <cstdint>

#include <nlohmann/json.hpp>

#include "collectives/cuda/device_transport.hpp"
#include "common/communicator.hpp"

namespace c2r::cuda {

class NcclComm final : public DeviceTransport {
 public:
  // Collective over `mpi`: each rank takes its GPU and the ranks agree that every one has a GPU
  // of its own (take_gpus), rank 0's NCCL id is shared over MPI and the communicator initialised.
  // Throws c2r::Error raised on every rank (no device on some rank, a bad C2R_DEVICE, two ranks
  // of a node on one GPU, NCCL's initialisation failing anywhere).
  explicit NcclComm(const Communicator& mpi);
  ~NcclComm() override;
  NcclComm(const NcclComm&) = delete;
  NcclComm& operator=(const NcclComm&) = delete;

  int rank() const override { return rank_; }
  int size() const override { return size_; }
  int device() const { return device_; }
  const nlohmann::json& devices() const override { return devices_; }

  // Enqueued on the default stream.
  void exchange_counts(const int64_t* send_counts, int64_t* recv_counts,
                       int per_peer = 1) const override;
  // Enqueued on the default stream.
  void alltoallv_rows(const void* send, void* recv, const AlltoallvLayout& layout,
                      int64_t row_bytes) const override;

  // Polls NCCL for an asynchronous error (a peer that failed) instead of blocking forever: on
  // one, aborts the communicator and throws.
  void wait() const override;

 private:
  mutable void* comm_ = nullptr;  // ncclComm_t; null once wait() aborted it
  void* done_ = nullptr;          // cudaEvent_t that wait() records and polls
  int rank_ = 0, size_ = 1, device_ = 0;
  nlohmann::json devices_ = nlohmann::json::array();
};

}  // namespace c2r::cuda
