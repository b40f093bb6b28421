#include "collectives/cuda/nccl_exchange.hpp"

#include <mpi.h>

#include <thread>

#include "collectives/cuda/nccl_check.hpp"
#include "common/error.hpp"
#include "kernels/cuda/cuda_check.hpp"

namespace c2r::cuda {

NcclComm::NcclComm(const Communicator& mpi)
    : rank_(mpi.rank()), size_(mpi.size()), devices_(take_gpus(mpi, /*one_gpu_per_rank=*/true)) {
  device_ = devices_[rank_]["device"];
  // Rank 0's NCCL id, with whether it could make one.
  struct {
    ncclUniqueId id;
    int ok;
  } shared{};
  if (rank_ == 0) shared.ok = ncclGetUniqueId(&shared.id) == ncclSuccess ? 1 : 0;
  C2R_MPI_CHECK(MPI_Bcast(&shared, sizeof shared, MPI_BYTE, 0, mpi.get()));
  if (!shared.ok) throw Error::on_all_ranks("ncclGetUniqueId failed on rank 0");
  ncclComm_t comm = nullptr;
  const ncclResult_t status = ncclCommInitRank(&comm, size_, shared.id, rank_);
  int ok = status == ncclSuccess ? 1 : 0;
  C2R_MPI_CHECK(MPI_Allreduce(MPI_IN_PLACE, &ok, 1, MPI_INT, MPI_MIN, mpi.get()));
  if (!ok) {
    if (comm) ncclCommAbort(comm);
    throw Error::on_all_ranks(std::string("ncclCommInitRank failed") +
                              (status != ncclSuccess
                                   ? std::string(" here: ") + ncclGetErrorString(status)
                                   : std::string(" on another rank")));
  }
  comm_ = comm;
  cudaEvent_t done = nullptr;
  C2R_CUDA_CHECK(cudaEventCreateWithFlags(&done, cudaEventDisableTiming));
  done_ = done;
}

NcclComm::~NcclComm() {
  if (done_) cudaEventDestroy(static_cast<cudaEvent_t>(done_));
  if (comm_) ncclCommDestroy(static_cast<ncclComm_t>(comm_));
}

void NcclComm::wait() const {
  // Polls instead of blocking in cudaDeviceSynchronize: a peer that failed leaves NCCL waiting
  // forever, which ncclCommGetAsyncError reports; the communicator is then aborted (its kernels
  // stop) and the error thrown. It runs inside timed phases: the event is made once, and the loop
  // yields rather than sleeps, so a wait ends as soon as the device is done, as a blocking
  // synchronisation would.
  const auto comm = static_cast<ncclComm_t>(comm_);
  const auto done = static_cast<cudaEvent_t>(done_);
  C2R_CUDA_CHECK(cudaEventRecord(done, nullptr));
  for (cudaError_t state = cudaEventQuery(done); state != cudaSuccess;
       state = cudaEventQuery(done)) {
    if (state != cudaErrorNotReady) C2R_CUDA_CHECK(state);
    ncclResult_t async = ncclSuccess;
    C2R_NCCL_CHECK(ncclCommGetAsyncError(comm, &async));
    if (async != ncclSuccess && async != ncclInProgress) {
      ncclCommAbort(comm);
      comm_ = nullptr;  // aborted: not destroyed again
      throw Error(std::string("NCCL failed asynchronously: ") + ncclGetErrorString(async) +
                  " (the communicator was aborted)");
    }
    std::this_thread::yield();
  }
  C2R_CUDA_CHECK(cudaDeviceSynchronize());  // what else the device ran, and its errors
}

namespace {

// ncclGroupStart ... ncclGroupEnd, closed on every path: a throw between them (a bad count, an
// NCCL error on one send) would otherwise leave the group open for the next call.
class NcclGroup {
 public:
  NcclGroup() { C2R_NCCL_CHECK(ncclGroupStart()); }
  ~NcclGroup() {
    if (open_) ncclGroupEnd();
  }
  NcclGroup(const NcclGroup&) = delete;
  NcclGroup& operator=(const NcclGroup&) = delete;
  void end() {
    open_ = false;
    C2R_NCCL_CHECK(ncclGroupEnd());
  }

 private:
  bool open_ = true;
};

}  // namespace

void NcclComm::exchange_counts(const int64_t* send_counts, int64_t* recv_counts,
                               int per_peer) const {
  const auto comm = static_cast<ncclComm_t>(comm_);
  NcclGroup group;
  for (int peer = 0; peer < size_; ++peer) {
    C2R_NCCL_CHECK(
        ncclSend(send_counts + peer * per_peer, per_peer, ncclInt64, peer, comm, nullptr));
    C2R_NCCL_CHECK(
        ncclRecv(recv_counts + peer * per_peer, per_peer, ncclInt64, peer, comm, nullptr));
  }
  group.end();
}

void NcclComm::alltoallv_rows(const void* send, void* recv, const AlltoallvLayout& layout,
                              int64_t row_bytes) const {
  const auto comm = static_cast<ncclComm_t>(comm_);
  const auto* from = static_cast<const char*>(send);
  auto* to = static_cast<char*>(recv);
  NcclGroup group;
  for (int peer = 0; peer < size_; ++peer) {
    if (layout.send_rows[peer] > 0) {
      C2R_NCCL_CHECK(ncclSend(from + layout.send_offsets[peer] * row_bytes,
                              layout.send_rows[peer] * row_bytes, ncclChar, peer, comm, nullptr));
    }
    if (layout.recv_rows[peer] > 0) {
      C2R_NCCL_CHECK(ncclRecv(to + layout.recv_offsets[peer] * row_bytes,
                              layout.recv_rows[peer] * row_bytes, ncclChar, peer, comm, nullptr));
    }
  }
  group.end();
}

}  // namespace c2r::cuda
