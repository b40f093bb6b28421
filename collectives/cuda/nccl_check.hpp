#pragma once
// The error check of NCCL calls (translation units that include nccl.h): like C2R_CUDA_CHECK it
// stays on in release builds and throws c2r::Error naming file:line, the call and NCCL's error.

#include <nccl.h>

#include <sstream>

#include "common/error.hpp"

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
