#include "collectives/backend.hpp"

#include "common/error.hpp"

namespace c2r {

const std::vector<BackendInfo>& backends() {
  static const std::vector<BackendInfo> registry = {
      {"cpu", true, "CPU kernels (OpenBLAS) with MPI_Alltoallv exchange", ""},
      {"cuda",
#ifdef C2R_HAVE_CUDA
       true,
#else
       false,
#endif
       "CUDA kernels (cuBLAS, CUB) with NCCL send/recv exchange",
       "configure with -DC2R_WITH_CUDA=ON -DC2R_WITH_NCCL=ON where the CUDA toolkit and NCCL "
       "are; scripts/build.sh does so when it finds them"},
  };
  return registry;
}

const BackendInfo& require_backend(const std::string& name) {
  std::string known;
  for (const auto& backend : backends()) {
    if (backend.name == name) {
      C2R_CHECK(backend.built, "backend '" << name << "' was not built into this c2rbench ("
                                           << backend.how_to_build << ")");
      return backend;
    }
    known += (known.empty() ? "" : ", ") + backend.name;
  }
  throw Error("unknown backend '" + name + "' (known: " + known + ")");
}

}  // namespace c2r
