// The NCCL exchange against its definition: every rank's counts and rows arrive at the right peer
// and offset. Runs under the GoogleTest MPI main (one rank in ctest: the self path); skipped,
// saying so, without a CUDA device.

#include <gtest/gtest.h>

#include <mpi.h>

#include "collectives/cuda/nccl_exchange.hpp"
#include "kernels/cuda/device.hpp"
#include "require_device.hpp"

namespace c2r {
namespace {

TEST(NcclExchange, CountsAndRowsReachTheirPeers) {
  C2R_REQUIRE_DEVICE("NCCL exchange");
  const Communicator mpi(MPI_COMM_WORLD);
  const int ranks = mpi.size(), me = mpi.rank();
  cuda::NcclComm nccl(mpi);

  // Rank s sends s + d + 1 rows to rank d; row values encode (source, destination, row).
  std::vector<int64_t> send_counts(ranks), expected_recv(ranks);
  for (int d = 0; d < ranks; ++d) send_counts[d] = me + d + 1;
  for (int s = 0; s < ranks; ++s) expected_recv[s] = s + me + 1;
  cuda::DeviceBuffer<int64_t> d_send_counts(send_counts), d_recv_counts(ranks);
  nccl.exchange_counts(d_send_counts.data(), d_recv_counts.data());
  EXPECT_EQ(d_recv_counts.download(), expected_recv);

  const int width = 5;
  AlltoallvLayout layout(ranks);
  for (int p = 0; p < ranks; ++p) {
    layout.send_rows[p] = static_cast<int>(send_counts[p]);
    layout.recv_rows[p] = static_cast<int>(expected_recv[p]);
  }
  layout.compute_offsets();
  std::vector<float> send(layout.total_send_rows() * width);
  for (int d = 0; d < ranks; ++d) {
    for (int r = 0; r < layout.send_rows[d]; ++r) {
      for (int i = 0; i < width; ++i) {
        send[(layout.send_offsets[d] + r) * width + i] = me * 10000.0f + d * 100.0f + r + i * 0.01f;
      }
    }
  }
  cuda::DeviceBuffer<float> d_send(send), d_recv(layout.total_recv_rows() * width);
  nccl.alltoallv_rows(d_send.data(), d_recv.data(), layout, width * sizeof(float));
  const std::vector<float> recv = d_recv.download();
  for (int s = 0; s < ranks; ++s) {
    for (int r = 0; r < layout.recv_rows[s]; ++r) {
      for (int i = 0; i < width; ++i) {
        EXPECT_EQ(recv[(layout.recv_offsets[s] + r) * width + i],
                  s * 10000.0f + me * 100.0f + r + i * 0.01f);
      }
    }
  }
}

}  // namespace
}  // namespace c2r
