#include "collectives/cuda/nccl_exchange.hpp"

#include <mpi.h>
#include <nccl.h>

#include <sstream>

#include "common/error.hpp"
#include "common/node_layout.hpp"
#include "kernels/cuda/cuda_check.hpp"
#include "kernels/cuda/device.hpp"

#define C2R_NCCL_CHECK(call)                                                  \
  do {                                                                        \
    const ncclResult_t c2r_nccl_status = (call);                              \
    if (c2r_nccl_status != ncclSuccess) {                                     \
      std::ostringstream c2r_nccl_message;                                    \
      c2r_nccl_message << __FILE__ << ":" << __LINE__ << ": " << #call        \
                       << " failed: " << ncclGetErrorString(c2r_nccl_status); \
      throw ::c2r::Error(c2r_nccl_message.str());                             \
    }                                                                         \
  } while (0)

namespace c2r::cuda {

NcclComm::NcclComm(const Communicator& mpi) : rank_(mpi.rank()), size_(mpi.size()) {
  const int devices = device_count();
  C2R_CHECK(devices > 0,
            "the CUDA backend needs a CUDA device on every rank (rank " << rank_ << " has none)");
  // One GPU per rank: ranks of one node take the node's devices in turn, by the launcher's local
  // rank (mpirun's or srun's, as a site's GPU binding follows it).
  const NodeLayout node = node_layout(mpi);
  C2R_CHECK(node.local_ranks <= devices, "the CUDA backend needs one GPU per rank: "
                                             << node.local_ranks << " ranks on this node share "
                                             << devices << " device(s)");
  device_ = node.local_rank % devices;
  C2R_CUDA_CHECK(cudaSetDevice(device_));

  ncclUniqueId id;
  if (rank_ == 0) C2R_NCCL_CHECK(ncclGetUniqueId(&id));
  C2R_MPI_CHECK(MPI_Bcast(&id, sizeof id, MPI_BYTE, 0, mpi.get()));
  ncclComm_t comm = nullptr;
  C2R_NCCL_CHECK(ncclCommInitRank(&comm, size_, id, rank_));
  comm_ = comm;
}

NcclComm::~NcclComm() {
  if (comm_) ncclCommDestroy(static_cast<ncclComm_t>(comm_));
}

void NcclComm::exchange_counts(const int64_t* send_counts, int64_t* recv_counts,
                               int per_peer) const {
  const auto comm = static_cast<ncclComm_t>(comm_);
  C2R_NCCL_CHECK(ncclGroupStart());
  for (int peer = 0; peer < size_; ++peer) {
    C2R_NCCL_CHECK(
        ncclSend(send_counts + peer * per_peer, per_peer, ncclInt64, peer, comm, nullptr));
    C2R_NCCL_CHECK(
        ncclRecv(recv_counts + peer * per_peer, per_peer, ncclInt64, peer, comm, nullptr));
  }
  C2R_NCCL_CHECK(ncclGroupEnd());
}

void NcclComm::alltoallv_rows(const void* send, void* recv, const AlltoallvLayout& layout,
                              int64_t row_bytes) const {
  const auto comm = static_cast<ncclComm_t>(comm_);
  const auto* from = static_cast<const char*>(send);
  auto* to = static_cast<char*>(recv);
  C2R_NCCL_CHECK(ncclGroupStart());
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
  C2R_NCCL_CHECK(ncclGroupEnd());
}

}  // namespace c2r::cuda
