#include "collectives/cuda/nccl_exchange.hpp"

#include <mpi.h>
#include <nccl.h>

#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <optional>
#include <sstream>
#include <thread>

#include "collectives/gpu_assignment.hpp"
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

namespace {

// "2.28.9" from NCCL's 22809, "13.0" from CUDA's 13000.
std::string nccl_version_text(int code) {
  return std::to_string(code / 10000) + "." + std::to_string(code % 10000 / 100) + "." +
         std::to_string(code % 100);
}
std::string cuda_version_text(int code) {
  return std::to_string(code / 1000) + "." + std::to_string(code % 1000 / 10);
}

std::string host_name() {
  char host[256] = {0};
  gethostname(host, sizeof(host) - 1);
  return host;
}

// This rank's GPU: chosen (C2R_DEVICE, else the launcher's local rank), set current, and
// described for the node's duplicate check and the report. Throws c2r::Error.
nlohmann::json take_device(const NodeLayout& node) {
  const int devices = device_count();
  C2R_CHECK(devices > 0, "the CUDA backend needs a CUDA device on every rank (none is visible)");
  const char* override_text = std::getenv("C2R_DEVICE");
  const int device =
      choose_device(node.local_rank, devices,
                    override_text ? std::optional<std::string>(override_text) : std::nullopt);
  C2R_CUDA_CHECK(cudaSetDevice(device));
  char bus_id[32] = {0};
  C2R_CUDA_CHECK(cudaDeviceGetPCIBusId(bus_id, sizeof(bus_id) - 1, device));
  cudaDeviceProp prop{};
  C2R_CUDA_CHECK(cudaGetDeviceProperties(&prop, device));
  int driver = 0, runtime = 0, nccl = 0;
  C2R_CUDA_CHECK(cudaDriverGetVersion(&driver));
  C2R_CUDA_CHECK(cudaRuntimeGetVersion(&runtime));
  C2R_NCCL_CHECK(ncclGetVersion(&nccl));
  return {{"device", device},
          {"visible_devices", devices},
          {"chosen_by", override_text ? "C2R_DEVICE" : node.local_rank_from},
          {"name", prop.name},
          {"pci_bus_id", bus_id},
          {"memory_bytes", static_cast<double>(prop.totalGlobalMem)},
          {"compute_capability", std::to_string(prop.major) + "." + std::to_string(prop.minor)},
          {"driver_cuda", cuda_version_text(driver)},
          {"cuda_runtime", cuda_version_text(runtime)},
          {"nccl", nccl_version_text(nccl)}};
}

}  // namespace

NcclComm::NcclComm(const Communicator& mpi) : rank_(mpi.rank()), size_(mpi.size()) {
  // Every rank takes its GPU; then the ranks agree, so that one rank's failure (no device, a bad
  // C2R_DEVICE, a driver error) or two ranks on one GPU stop every rank with the same message
  // before any NCCL call could leave the others waiting.
  const NodeLayout node = node_layout(mpi);
  nlohmann::json mine;
  try {
    mine = take_device(node);
    device_ = mine["device"];
  } catch (const Error& e) {
    mine = {{"error", e.what()}};
  }
  mine["host"] = host_name();
  const std::vector<std::string> all = mpi.allgather_strings(mine.dump());
  std::vector<std::string> hosts, bus_ids;
  devices_ = nlohmann::json::array();
  for (int r = 0; r < size_; ++r) {
    nlohmann::json entry = nlohmann::json::parse(all[r]);
    if (entry.contains("error")) {
      throw Error::on_all_ranks("rank " + std::to_string(r) + " (host " +
                                entry["host"].get<std::string>() +
                                "): " + entry["error"].get<std::string>());
    }
    hosts.push_back(entry["host"]);
    bus_ids.push_back(entry["pci_bus_id"]);
    entry["rank"] = r;
    devices_.push_back(entry);
  }
  if (const auto problem = shared_gpu_problem(node.node_of_rank, hosts, bus_ids)) {
    throw Error::on_all_ranks(*problem);
  }

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
}

NcclComm::~NcclComm() {
  if (comm_) ncclCommDestroy(static_cast<ncclComm_t>(comm_));
}

void NcclComm::wait() const {
  // Polls instead of blocking in cudaDeviceSynchronize: a peer that failed leaves NCCL waiting
  // forever, which ncclCommGetAsyncError reports; the communicator is then aborted (its kernels
  // stop) and the error thrown.
  const auto comm = static_cast<ncclComm_t>(comm_);
  cudaEvent_t done = nullptr;
  C2R_CUDA_CHECK(cudaEventCreateWithFlags(&done, cudaEventDisableTiming));
  const cudaError_t recorded = cudaEventRecord(done, nullptr);
  while (recorded == cudaSuccess) {
    const cudaError_t state = cudaEventQuery(done);
    if (state == cudaSuccess) break;
    if (state != cudaErrorNotReady) {
      cudaEventDestroy(done);
      C2R_CUDA_CHECK(state);
    }
    ncclResult_t async = ncclSuccess;
    C2R_NCCL_CHECK(ncclCommGetAsyncError(comm, &async));
    if (async != ncclSuccess && async != ncclInProgress) {
      cudaEventDestroy(done);
      ncclCommAbort(comm);
      comm_ = nullptr;  // aborted: not destroyed again
      throw Error(std::string("NCCL failed asynchronously: ") + ncclGetErrorString(async) +
                  " (the communicator was aborted)");
    }
    std::this_thread::sleep_for(std::chrono::microseconds(20));
  }
  cudaEventDestroy(done);
  C2R_CUDA_CHECK(recorded);
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
