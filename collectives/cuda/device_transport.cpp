#include "collectives/cuda/device_transport.hpp"

#include <unistd.h>

#include <cstdlib>
#include <optional>
#include <sstream>

#include "collectives/cuda/mpi_staged_exchange.hpp"
#include "collectives/cuda/nccl_check.hpp"
#include "collectives/cuda/nccl_exchange.hpp"
#include "collectives/gpu_assignment.hpp"
#include "common/error.hpp"
#include "common/node_layout.hpp"
#include "kernels/cuda/cuda_check.hpp"
#include "kernels/cuda/device.hpp"

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

std::vector<std::string> device_transport_names() {
  return {"nccl", "mpi"};
}

std::unique_ptr<DeviceTransport> make_device_transport(const std::string& name,
                                                       const Communicator& mpi) {
  if (name == "nccl") return std::make_unique<NcclComm>(mpi);
  if (name == "mpi") return std::make_unique<MpiStagedExchange>(mpi);
  throw Error::on_all_ranks("unknown device exchange '" + name + "' (known: nccl, mpi)");
}

nlohmann::json take_gpus(const Communicator& mpi, bool one_gpu_per_rank) {
  // Every rank takes its GPU; then the ranks agree, so that one rank's failure (no device, a bad
  // C2R_DEVICE, a driver error) or two ranks on one GPU stop every rank with the same message
  // before any exchange could leave the others waiting.
  const NodeLayout node = node_layout(mpi);
  nlohmann::json mine;
  try {
    mine = take_device(node);
  } catch (const Error& e) {
    mine = {{"error", e.what()}};
  }
  mine["host"] = host_name();
  const std::vector<std::string> all = mpi.allgather_strings(mine.dump());
  std::vector<std::string> hosts, bus_ids;
  nlohmann::json devices = nlohmann::json::array();
  for (int r = 0; r < mpi.size(); ++r) {
    nlohmann::json entry = nlohmann::json::parse(all[r]);
    if (entry.contains("error")) {
      throw Error::on_all_ranks("rank " + std::to_string(r) + " (host " +
                                entry["host"].get<std::string>() +
                                "): " + entry["error"].get<std::string>());
    }
    hosts.push_back(entry["host"]);
    bus_ids.push_back(entry["pci_bus_id"]);
    entry["rank"] = r;
    devices.push_back(entry);
  }
  if (one_gpu_per_rank) {
    if (const auto problem = shared_gpu_problem(node.node_of_rank, hosts, bus_ids)) {
      throw Error::on_all_ranks(*problem);
    }
  }
  return devices;
}

}  // namespace c2r::cuda
