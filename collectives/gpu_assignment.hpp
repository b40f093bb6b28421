#pragma once
// Which GPU each rank takes, decided without a device so that it is tested everywhere: the CUDA
// backend (collectives/cuda/nccl_exchange.cpp) asks these, with what the ranks found on their
// nodes.

#include <optional>
#include <string>
#include <vector>

namespace c2r {

// The visible device a rank takes: `override_text` (C2R_DEVICE) when given, which must be a whole
// number below `devices`; else the launcher's local rank modulo the visible devices. Where the
// launcher shows each rank one GPU of its own (Slurm's --gpus-per-task=1, a wrapper setting
// CUDA_VISIBLE_DEVICES per rank) every rank takes its device 0. Throws c2r::Error naming
// C2R_DEVICE when it is not a usable device number.
int choose_device(int local_rank, int devices, const std::optional<std::string>& override_text);

// Two ranks of one node on one GPU (the same PCI bus id), which NCCL refuses: the message naming
// them, or nullopt when every rank of every node has a GPU of its own. `node_of_rank` and
// `pci_bus_id` hold one entry per rank; ranks on different nodes may show the same bus id.
std::optional<std::string> shared_gpu_problem(const std::vector<int>& node_of_rank,
                                              const std::vector<std::string>& hosts,
                                              const std::vector<std::string>& pci_bus_id);

}  // namespace c2r
