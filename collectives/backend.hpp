#pragma once
// The backend registry: which compute + exchange backends this build has. CUDA/NCCL plug in here;
// algorithms never test for them.

#include <string>
#include <vector>

namespace c2r {

struct BackendInfo {
  std::string name;          // value of --backend
  bool built = false;        // compiled into this binary
  std::string description;   // kernels and exchange it uses
  std::string how_to_build;  // what to configure when it is not built
};

const std::vector<BackendInfo>& backends();

// Throws c2r::Error when `name` is unknown or was not built into this binary.
const BackendInfo& require_backend(const std::string& name);

}  // namespace c2r
