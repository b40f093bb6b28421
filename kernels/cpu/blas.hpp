#pragma once
// OpenBLAS's CBLAS interface plus the OpenBLAS extensions c2rbench uses.

#include <cblas.h>

#include <string>

namespace c2r {

// One BLAS thread per rank by default: ranks already occupy the cores.
inline void set_blas_threads(int threads) {
  openblas_set_num_threads(threads);
}

inline std::string blas_version() {
  // openblas_get_config() starts with "OpenBLAS <version>".
  return std::string(openblas_get_config()) + " (core " + openblas_get_corename() + ")";
}

}  // namespace c2r
