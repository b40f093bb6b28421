#pragma once
// How a GPU test meets a machine without a usable device: it skips, saying so, unless the
// environment demands a GPU (C2R_REQUIRE_GPU=1, as scripts/gpu_check.sh sets on the device
// machine), where the same absence is a failure. A device that is there but cannot be used
// (cuda::device_count throws) fails the test either way.

#include <gtest/gtest.h>

#include <cstdlib>
#include <string>

#include "kernels/cuda/device.hpp"

namespace c2r {

inline bool gpu_required() {
  const char* value = std::getenv("C2R_REQUIRE_GPU");
  return value && std::string(value) == "1";
}

}  // namespace c2r

// In a TEST body: skips (or, with C2R_REQUIRE_GPU=1, fails) without a CUDA device; `what` says
// what was not run.
#define C2R_REQUIRE_DEVICE(what)                                                             \
  do {                                                                                       \
    if (::c2r::cuda::device_count() == 0) {                                                  \
      if (::c2r::gpu_required()) FAIL() << "C2R_REQUIRE_GPU=1 but no CUDA device: " << what; \
      GTEST_SKIP() << "no CUDA device: " << what << " not run";                              \
    }                                                                                        \
  } while (0)
