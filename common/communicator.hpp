#pragma once
// The MPI communicator every exchange and reduction goes through; passed explicitly, never global.

#include <mpi.h>

#include <cstdint>
#include <string>
#include <vector>

namespace c2r {

// An MPI datatype of one row of `bytes` bytes, freed on destruction.
class RowType {
 public:
  explicit RowType(int64_t bytes);
  ~RowType();
  RowType(const RowType&) = delete;
  RowType& operator=(const RowType&) = delete;
  MPI_Datatype get() const { return type_; }
  int64_t bytes() const { return bytes_; }

 private:
  MPI_Datatype type_ = MPI_DATATYPE_NULL;
  int64_t bytes_ = 0;
};

// Rows exchanged with every peer and where they sit in the send / receive buffers (in rows).
struct AlltoallvLayout {
  std::vector<int> send_rows, send_offsets;  // [ranks]
  std::vector<int> recv_rows, recv_offsets;  // [ranks]

  explicit AlltoallvLayout(int ranks = 0)
      : send_rows(ranks, 0), send_offsets(ranks, 0), recv_rows(ranks, 0), recv_offsets(ranks, 0) {}
  // Recomputes the offsets as exclusive prefix sums of the counts.
  void compute_offsets();
  int64_t total_send_rows() const;
  int64_t total_recv_rows() const;
};

// A non-blocking exchange in flight (MPI_Ialltoall / MPI_Ialltoallv): test() lets MPI progress it
// and says whether it is done, wait() completes it. Move-only. Destroyed or overwritten while in
// flight (an error unwinding a layer), it is waited for first, so that MPI never writes into
// buffers freed after it: every rank started it, so it completes.
class PendingExchange {
 public:
  PendingExchange() = default;
  explicit PendingExchange(MPI_Request request) : request_(request) {}
  PendingExchange(PendingExchange&& other) noexcept : request_(other.request_) {
    other.request_ = MPI_REQUEST_NULL;
  }
  PendingExchange& operator=(PendingExchange&& other) noexcept {
    if (this != &other) {
      finish();
      request_ = other.request_;
      other.request_ = MPI_REQUEST_NULL;
    }
    return *this;
  }
  PendingExchange(const PendingExchange&) = delete;
  PendingExchange& operator=(const PendingExchange&) = delete;
  ~PendingExchange() { finish(); }

  bool in_flight() const { return request_ != MPI_REQUEST_NULL; }
  // Progresses every exchange of this process; true when this one is done (or none was started).
  bool test();
  void wait();

 private:
  // Waits without throwing (destruction, reassignment).
  void finish() noexcept {
    if (request_ != MPI_REQUEST_NULL) MPI_Wait(&request_, MPI_STATUS_IGNORE);
  }

  MPI_Request request_ = MPI_REQUEST_NULL;
};

class Communicator {
 public:
  explicit Communicator(MPI_Comm comm);
  int rank() const { return rank_; }
  int size() const { return size_; }
  MPI_Comm get() const { return comm_; }

  void barrier() const;
  // recv[p * per_peer ...] = what peer p sent to this rank.
  void alltoall_ints(const int* send, int per_peer, int* recv) const;
  // Fixed-size all2all of `rows_per_peer` rows to every peer.
  void alltoall_rows(const void* send, int rows_per_peer, void* recv, const RowType& row) const;
  void alltoallv_rows(const void* send, void* recv, const AlltoallvLayout& layout,
                      const RowType& row) const;
  // The same exchanges, started and returned in flight: the buffers must stay untouched until the
  // exchange is done. Every rank starts its non-blocking exchanges in the same order.
  PendingExchange start_alltoall_rows(const void* send, int rows_per_peer, void* recv,
                                      const RowType& row) const;
  PendingExchange start_alltoallv_rows(const void* send, void* recv, const AlltoallvLayout& layout,
                                       const RowType& row) const;

  // Element-wise reductions over ranks, in place, on every rank.
  void allreduce_max(std::vector<double>& values) const;
  void allreduce_sum(std::vector<double>& values) const;
  void allreduce_sum(std::vector<int64_t>& values) const;
  int64_t allreduce_sum(int64_t value) const;
  double allreduce_max(double value) const;
  // Every rank's vector (all the same length) concatenated in rank order, on every rank.
  std::vector<int64_t> allgather(const std::vector<int64_t>& values) const;
  std::vector<std::string> allgather_strings(const std::string& value) const;
  // Replaces `text` on every rank with rank `root`'s.
  void broadcast(std::string& text, int root = 0) const;

 private:
  MPI_Comm comm_;
  int rank_ = 0;
  int size_ = 1;
};

}  // namespace c2r
