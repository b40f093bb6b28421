#pragma once
// Error checks for CUDA runtime and cuBLAS calls (CUDA translation units only). Like C2R_MPI_CHECK
// they stay on in release builds and throw c2r::Error naming file:line, the call and the error.

#include <cublas_v2.h>
#include <cuda_runtime.h>

#include <sstream>

#include "common/error.hpp"

#define C2R_CUDA_CHECK(call)                                                  \
  do {                                                                        \
    const cudaError_t c2r_cuda_status = (call);                               \
    if (c2r_cuda_status != cudaSuccess) {                                     \
      std::ostringstream c2r_cuda_message;                                    \
      c2r_cuda_message << __FILE__ << ":" << __LINE__ << ": " << #call        \
                       << " failed: " << cudaGetErrorString(c2r_cuda_status); \
      throw ::c2r::Error(c2r_cuda_message.str());                             \
    }                                                                         \
  } while (0)

#define C2R_CUBLAS_CHECK(call)                                                       \
  do {                                                                               \
    const cublasStatus_t c2r_cublas_status = (call);                                 \
    if (c2r_cublas_status != CUBLAS_STATUS_SUCCESS) {                                \
      std::ostringstream c2r_cublas_message;                                         \
      c2r_cublas_message << __FILE__ << ":" << __LINE__ << ": " << #call             \
                         << " failed: " << cublasGetStatusString(c2r_cublas_status); \
      throw ::c2r::Error(c2r_cublas_message.str());                                  \
    }                                                                                \
  } while (0)

// After a kernel launch: a bad configuration is reported here, execution errors at the next sync.
#define C2R_CUDA_CHECK_LAUNCH() C2R_CUDA_CHECK(cudaGetLastError())
