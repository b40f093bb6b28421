#pragma once
// The NCCL exchange of the CUDA backend: one communicator over the job's MPI ranks, one GPU per
// rank, and the two exchanges every strategy is built from — per-peer row counts exchanged on the
// device, and a variable all2all of rows as grouped ncclSend / ncclRecv (no all2all collective is
// needed). Plain C++ header.

#include <cstdint>

#include <nlohmann/json.hpp>

#include "common/communicator.hpp"

namespace c2r::cuda {

class NcclComm {
 public:
  // Collective over `mpi`: each rank takes its GPU (collectives/gpu_assignment.hpp: C2R_DEVICE,
  // else the launcher's local rank modulo the visible devices), the ranks agree that every one
  // has a GPU of its own, rank 0's NCCL id is shared over MPI and the communicator initialised.
  // Throws c2r::Error raised on every rank (no device on some rank, a bad C2R_DEVICE, two ranks
  // of a node on one GPU, NCCL's initialisation failing anywhere).
  explicit NcclComm(const Communicator& mpi);
  ~NcclComm();
  NcclComm(const NcclComm&) = delete;
  NcclComm& operator=(const NcclComm&) = delete;

  int rank() const { return rank_; }
  int size() const { return size_; }
  int device() const { return device_; }
  // Every rank's GPU, by rank: {rank, host, device, visible_devices, chosen_by, name, pci_bus_id,
  // memory_bytes, compute_capability, driver_cuda, cuda_runtime, nccl}, for the report's context.
  const nlohmann::json& devices() const { return devices_; }

  // Waits for everything enqueued on the device, polling NCCL for an asynchronous error (a peer
  // that failed) instead of blocking forever: on one, aborts the communicator and throws.
  void wait() const;

  // send_counts: [size x per_peer] device int64, what this rank sends to each peer (e.g. rows per
  // local expert of that peer); recv_counts: [size x per_peer] device int64, what each peer sends
  // here. Enqueued on the default stream.
  void exchange_counts(const int64_t* send_counts, int64_t* recv_counts, int per_peer = 1) const;

  // Rows of `row_bytes` to and from every peer as `layout` says (host counts and offsets, in rows),
  // device buffers. Enqueued on the default stream.
  void alltoallv_rows(const void* send, void* recv, const AlltoallvLayout& layout,
                      int64_t row_bytes) const;

 private:
  mutable void* comm_ = nullptr;  // ncclComm_t; null once wait() aborted it
  int rank_ = 0, size_ = 1, device_ = 0;
  nlohmann::json devices_ = nlohmann::json::array();
};

}  // namespace c2r::cuda
