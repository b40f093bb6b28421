#pragma once
// How the CUDA backend's rows travel between ranks: the two exchanges every device strategy is
// built from (per-peer counts, and a variable all2all of rows, both on device buffers), behind one
// interface with two transports:
//   - nccl: NCCL between GPUs, one GPU per rank (collectives/cuda/nccl_exchange.hpp) — what a
//     production layer does, and what `run --backend cuda` times by default;
//   - mpi:  rows staged through host memory and exchanged with MPI (mpi_staged_exchange.hpp), so
//     that several ranks may share one GPU: it checks the multi-rank layouts of every device
//     kernel on a machine with a single GPU. Its timings stand for no production exchange.
// Plain C++ header.

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/communicator.hpp"

namespace c2r::cuda {

class DeviceTransport {
 public:
  virtual ~DeviceTransport() = default;

  virtual int rank() const = 0;
  virtual int size() const = 0;
  // Every rank's GPU, by rank (see take_gpus), for the report's context.
  virtual const nlohmann::json& devices() const = 0;

  // send_counts: [size x per_peer] device int64, what this rank sends to each peer (e.g. rows per
  // local expert of that peer); recv_counts: [size x per_peer] device int64, what each peer sends
  // here. Ordered after the work already enqueued on the default stream.
  virtual void exchange_counts(const int64_t* send_counts, int64_t* recv_counts,
                               int per_peer = 1) const = 0;
  // Rows of `row_bytes` to and from every peer as `layout` says (host counts and offsets, in
  // rows), device buffers. Ordered after the work already enqueued on the default stream.
  virtual void alltoallv_rows(const void* send, void* recv, const AlltoallvLayout& layout,
                              int64_t row_bytes) const = 0;
  // Waits for everything enqueued on the device; throws c2r::Error on a device or exchange error.
  virtual void wait() const = 0;
};

// The transports by name: "nccl" or "mpi" (the order --help lists them in).
std::vector<std::string> device_transport_names();

// Collective over `mpi`: the transport `name` names. Throws c2r::Error raised on every rank when
// it cannot run here (see each transport's constructor).
std::unique_ptr<DeviceTransport> make_device_transport(const std::string& name,
                                                       const Communicator& mpi);

// Collective over `mpi`: every rank takes its GPU (collectives/gpu_assignment.hpp: C2R_DEVICE,
// else the launcher's local rank modulo the visible devices) and the ranks agree that each has
// one, and, with `one_gpu_per_rank`, that no two ranks of a node share one (NCCL's rule). Returns
// every rank's GPU: {rank, host, device, visible_devices, chosen_by, name, pci_bus_id,
// memory_bytes, compute_capability, driver_cuda, cuda_runtime, nccl}. Throws c2r::Error raised
// on every rank, naming the first rank that failed.
nlohmann::json take_gpus(const Communicator& mpi, bool one_gpu_per_rank);

}  // namespace c2r::cuda
