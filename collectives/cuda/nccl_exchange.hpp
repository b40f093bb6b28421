#pragma once
// The NCCL exchange of the CUDA backend: one communicator over the job's MPI ranks, one GPU per
// rank, and the two exchanges every strategy is built from — per-peer row counts exchanged on the
// device, and a variable all2all of rows as grouped ncclSend / ncclRecv (no all2all collective is
// needed). Plain C++ header.

#include <cstdint>

#include "common/communicator.hpp"

namespace c2r::cuda {

class NcclComm {
 public:
  // Collective over `mpi`: picks device (node-local rank % devices), shares the NCCL id from rank 0
  // over MPI and initialises the communicator. Throws c2r::Error without a device.
  explicit NcclComm(const Communicator& mpi);
  ~NcclComm();
  NcclComm(const NcclComm&) = delete;
  NcclComm& operator=(const NcclComm&) = delete;

  int rank() const { return rank_; }
  int size() const { return size_; }
  int device() const { return device_; }

  // send_counts: [size x per_peer] device int64, what this rank sends to each peer (e.g. rows per
  // local expert of that peer); recv_counts: [size x per_peer] device int64, what each peer sends
  // here. Enqueued on the default stream.
  void exchange_counts(const int64_t* send_counts, int64_t* recv_counts, int per_peer = 1) const;

  // Rows of `row_bytes` to and from every peer as `layout` says (host counts and offsets, in rows),
  // device buffers. Enqueued on the default stream.
  void alltoallv_rows(const void* send, void* recv, const AlltoallvLayout& layout,
                      int64_t row_bytes) const;

 private:
  void* comm_ = nullptr;  // ncclComm_t
  int rank_ = 0, size_ = 1, device_ = 0;
};

}  // namespace c2r::cuda
