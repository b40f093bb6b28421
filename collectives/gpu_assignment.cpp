#include "collectives/gpu_assignment.hpp"

#include <algorithm>
#include <cctype>
#include <map>
#include <sstream>
#include <utility>

#include "common/error.hpp"

namespace c2r {

int choose_device(int local_rank, int devices, const std::optional<std::string>& override_text) {
  C2R_CHECK(devices > 0, "no CUDA device is visible to this rank");
  if (!override_text) return local_rank % devices;
  const std::string& text = *override_text;
  const bool digits =
      !text.empty() && text.size() <= 6 &&
      std::all_of(text.begin(), text.end(), [](unsigned char c) { return std::isdigit(c); });
  C2R_CHECK(digits && std::stoi(text) < devices,
            "C2R_DEVICE=" << text << " is not a device of this rank (it sees " << devices
                          << " CUDA device(s): 0.." << devices - 1 << ")");
  return std::stoi(text);
}

std::optional<std::string> shared_gpu_problem(const std::vector<int>& node_of_rank,
                                              const std::vector<std::string>& hosts,
                                              const std::vector<std::string>& pci_bus_id) {
  std::map<std::pair<int, std::string>, int> first_rank;  // (node, bus id) -> first rank there
  for (size_t r = 0; r < pci_bus_id.size(); ++r) {
    const auto key = std::make_pair(node_of_rank[r], pci_bus_id[r]);
    const auto [it, inserted] = first_rank.emplace(key, static_cast<int>(r));
    if (inserted) continue;
    std::ostringstream message;
    message << "ranks " << it->second << " and " << r << " on host " << hosts[r]
            << " share the GPU at PCI bus id " << pci_bus_id[r]
            << ": NCCL needs one GPU per rank. Give each rank a GPU of its own (fewer ranks per "
               "node, Slurm's --gpus-per-task=1, CUDA_VISIBLE_DEVICES per rank, or C2R_DEVICE)";
    return message.str();
  }
  return std::nullopt;
}

}  // namespace c2r
