#include "collectives/cuda/mpi_staged_exchange.hpp"

#include <cuda_runtime.h>

#include "kernels/cuda/cuda_check.hpp"

namespace c2r::cuda {

MpiStagedExchange::MpiStagedExchange(const Communicator& mpi)
    : mpi_(mpi), devices_(take_gpus(mpi, /*one_gpu_per_rank=*/false)) {}

void MpiStagedExchange::exchange_counts(const int64_t* send_counts, int64_t* recv_counts,
                                        int per_peer) const {
  const size_t count = static_cast<size_t>(mpi_.size()) * per_peer;
  send_counts_host_.resize(count);
  recv_counts_host_.resize(count);
  // cudaMemcpy waits for the default stream's work (the kernels that wrote the counts).
  C2R_CUDA_CHECK(cudaMemcpy(send_counts_host_.data(), send_counts, count * sizeof(int64_t),
                            cudaMemcpyDeviceToHost));
  const RowType per_peer_counts(static_cast<int64_t>(per_peer) * sizeof(int64_t));
  mpi_.alltoall_rows(send_counts_host_.data(), 1, recv_counts_host_.data(), per_peer_counts);
  C2R_CUDA_CHECK(cudaMemcpy(recv_counts, recv_counts_host_.data(), count * sizeof(int64_t),
                            cudaMemcpyHostToDevice));
}

void MpiStagedExchange::alltoallv_rows(const void* send, void* recv, const AlltoallvLayout& layout,
                                       int64_t row_bytes) const {
  const int64_t send_bytes = layout.total_send_rows() * row_bytes;
  const int64_t recv_bytes = layout.total_recv_rows() * row_bytes;
  // Grown, never shrunk: sized by the largest exchange, then reused.
  if (send_host_.size() < static_cast<size_t>(send_bytes)) send_host_.resize(send_bytes);
  if (recv_host_.size() < static_cast<size_t>(recv_bytes)) recv_host_.resize(recv_bytes);
  if (send_bytes > 0) {
    C2R_CUDA_CHECK(cudaMemcpy(send_host_.data(), send, send_bytes, cudaMemcpyDeviceToHost));
  }
  mpi_.alltoallv_rows(send_host_.data(), recv_host_.data(), layout, RowType(row_bytes));
  if (recv_bytes > 0) {
    C2R_CUDA_CHECK(cudaMemcpy(recv, recv_host_.data(), recv_bytes, cudaMemcpyHostToDevice));
  }
}

void MpiStagedExchange::wait() const {
  C2R_CUDA_CHECK(cudaDeviceSynchronize());
}

}  // namespace c2r::cuda
