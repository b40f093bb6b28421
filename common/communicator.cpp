#include "common/communicator.hpp"

#include "common/error.hpp"

namespace c2r {

RowType::RowType(int64_t bytes) : bytes_(bytes) {
  C2R_CHECK(bytes > 0 && bytes < (int64_t{1} << 31), "row size " << bytes << " B is out of range");
  C2R_MPI_CHECK(MPI_Type_contiguous(static_cast<int>(bytes), MPI_BYTE, &type_));
  C2R_MPI_CHECK(MPI_Type_commit(&type_));
}

RowType::~RowType() {
  if (type_ != MPI_DATATYPE_NULL) MPI_Type_free(&type_);
}

void AlltoallvLayout::compute_offsets() {
  int send = 0, recv = 0;
  for (size_t p = 0; p < send_rows.size(); ++p) {
    send_offsets[p] = send;
    recv_offsets[p] = recv;
    send += send_rows[p];
    recv += recv_rows[p];
  }
}

int64_t AlltoallvLayout::total_send_rows() const {
  int64_t total = 0;
  for (int rows : send_rows) total += rows;
  return total;
}

int64_t AlltoallvLayout::total_recv_rows() const {
  int64_t total = 0;
  for (int rows : recv_rows) total += rows;
  return total;
}

Communicator::Communicator(MPI_Comm comm) : comm_(comm) {
  C2R_MPI_CHECK(MPI_Comm_rank(comm_, &rank_));
  C2R_MPI_CHECK(MPI_Comm_size(comm_, &size_));
}

void Communicator::barrier() const {
  C2R_MPI_CHECK(MPI_Barrier(comm_));
}

void Communicator::alltoall_ints(const int* send, int per_peer, int* recv) const {
  C2R_MPI_CHECK(MPI_Alltoall(send, per_peer, MPI_INT, recv, per_peer, MPI_INT, comm_));
}

void Communicator::alltoall_rows(const void* send, int rows_per_peer, void* recv,
                                 const RowType& row) const {
  C2R_MPI_CHECK(
      MPI_Alltoall(send, rows_per_peer, row.get(), recv, rows_per_peer, row.get(), comm_));
}

void Communicator::alltoallv_rows(const void* send, void* recv, const AlltoallvLayout& layout,
                                  const RowType& row) const {
  C2R_MPI_CHECK(MPI_Alltoallv(send, layout.send_rows.data(), layout.send_offsets.data(), row.get(),
                              recv, layout.recv_rows.data(), layout.recv_offsets.data(), row.get(),
                              comm_));
}

PendingExchange Communicator::start_alltoall_rows(const void* send, int rows_per_peer, void* recv,
                                                  const RowType& row) const {
  MPI_Request request = MPI_REQUEST_NULL;
  C2R_MPI_CHECK(MPI_Ialltoall(send, rows_per_peer, row.get(), recv, rows_per_peer, row.get(), comm_,
                              &request));
  return PendingExchange(request);
}

PendingExchange Communicator::start_alltoallv_rows(const void* send, void* recv,
                                                   const AlltoallvLayout& layout,
                                                   const RowType& row) const {
  MPI_Request request = MPI_REQUEST_NULL;
  C2R_MPI_CHECK(MPI_Ialltoallv(send, layout.send_rows.data(), layout.send_offsets.data(), row.get(),
                               recv, layout.recv_rows.data(), layout.recv_offsets.data(), row.get(),
                               comm_, &request));
  return PendingExchange(request);
}

bool PendingExchange::test() {
  if (request_ == MPI_REQUEST_NULL) return true;
  int done = 0;
  C2R_MPI_CHECK(MPI_Test(&request_, &done, MPI_STATUS_IGNORE));
  return done != 0;
}

void PendingExchange::wait() {
  if (request_ != MPI_REQUEST_NULL) C2R_MPI_CHECK(MPI_Wait(&request_, MPI_STATUS_IGNORE));
}

void Communicator::allreduce_max(std::vector<double>& values) const {
  C2R_MPI_CHECK(MPI_Allreduce(MPI_IN_PLACE, values.data(), static_cast<int>(values.size()),
                              MPI_DOUBLE, MPI_MAX, comm_));
}

void Communicator::allreduce_sum(std::vector<double>& values) const {
  C2R_MPI_CHECK(MPI_Allreduce(MPI_IN_PLACE, values.data(), static_cast<int>(values.size()),
                              MPI_DOUBLE, MPI_SUM, comm_));
}

void Communicator::allreduce_sum(std::vector<int64_t>& values) const {
  C2R_MPI_CHECK(MPI_Allreduce(MPI_IN_PLACE, values.data(), static_cast<int>(values.size()),
                              MPI_INT64_T, MPI_SUM, comm_));
}

int64_t Communicator::allreduce_sum(int64_t value) const {
  C2R_MPI_CHECK(MPI_Allreduce(MPI_IN_PLACE, &value, 1, MPI_INT64_T, MPI_SUM, comm_));
  return value;
}

double Communicator::allreduce_max(double value) const {
  C2R_MPI_CHECK(MPI_Allreduce(MPI_IN_PLACE, &value, 1, MPI_DOUBLE, MPI_MAX, comm_));
  return value;
}

std::vector<int64_t> Communicator::allgather(const std::vector<int64_t>& values) const {
  std::vector<int64_t> all(values.size() * size_);
  C2R_MPI_CHECK(MPI_Allgather(values.data(), static_cast<int>(values.size()), MPI_INT64_T,
                              all.data(), static_cast<int>(values.size()), MPI_INT64_T, comm_));
  return all;
}

std::vector<std::string> Communicator::allgather_strings(const std::string& value) const {
  int length = static_cast<int>(value.size());
  std::vector<int> lengths(size_);
  C2R_MPI_CHECK(MPI_Allgather(&length, 1, MPI_INT, lengths.data(), 1, MPI_INT, comm_));
  std::vector<int> offsets(size_, 0);
  for (int p = 1; p < size_; ++p) offsets[p] = offsets[p - 1] + lengths[p - 1];
  std::string all(static_cast<size_t>(offsets.back() + lengths.back()), '\0');
  C2R_MPI_CHECK(MPI_Allgatherv(value.data(), length, MPI_CHAR, all.data(), lengths.data(),
                               offsets.data(), MPI_CHAR, comm_));
  std::vector<std::string> out;
  for (int p = 0; p < size_; ++p) out.push_back(all.substr(offsets[p], lengths[p]));
  return out;
}

void Communicator::broadcast(std::string& text, int root) const {
  int64_t length = static_cast<int64_t>(text.size());
  C2R_MPI_CHECK(MPI_Bcast(&length, 1, MPI_INT64_T, root, comm_));
  text.resize(static_cast<size_t>(length));
  C2R_CHECK(length < (int64_t{1} << 31), "broadcast of " << length << " B is too large");
  C2R_MPI_CHECK(MPI_Bcast(text.data(), static_cast<int>(length), MPI_CHAR, root, comm_));
}

}  // namespace c2r
