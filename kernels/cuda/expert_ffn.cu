#include <cuda_bf16.h>

#include "kernels/cuda/cuda_check.hpp"
#include "kernels/cuda/expert_ffn.hpp"

namespace c2r::cuda {

namespace {

__device__ inline void store(float value, float* out) {
  *out = value;
}
__device__ inline void store(float value, __nv_bfloat16* out) {
  *out = __float2bfloat16(value);
}

// a[r][f] = silu(h[r][f]) * h[r][ffn + f]; h: [rows x 2 ffn] fp32, a: [rows x ffn] fp32, or bf16
// (rounded) for a bf16 down GEMM.
template <typename Out>
__global__ void swiglu_kernel(const float* h, int64_t rows, int ffn, Out* a) {
  const int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x;
  if (i >= rows * ffn) return;
  const int64_t r = i / ffn;
  const int f = static_cast<int>(i % ffn);
  const float g = h[r * 2 * ffn + f];
  store(g / (1.0f + expf(-g)) * h[r * 2 * ffn + ffn + f], &a[i]);
}

// Row-major C[m x n] = A[m x k] B[k x n] as column-major C^T = B^T A^T.
void gemm_row_major(cublasHandle_t handle, int64_t m, int n, int k, const float* a, const float* b,
                    float* c) {
  const float one = 1.0f, zero = 0.0f;
  C2R_CUBLAS_CHECK(cublasSgemm(handle, CUBLAS_OP_N, CUBLAS_OP_N, n, static_cast<int>(m), k, &one, b,
                               n, a, k, &zero, c, n));
}

// Row-major C[m x n] (fp32) = A[m x k] B[k x n] (bf16), fp32 accumulation.
void gemm_row_major_bf16(cublasHandle_t handle, int64_t m, int n, int k, const void* a,
                         const void* b, float* c) {
  const float one = 1.0f, zero = 0.0f;
  C2R_CUBLAS_CHECK(cublasGemmEx(handle, CUBLAS_OP_N, CUBLAS_OP_N, n, static_cast<int>(m), k, &one,
                                b, CUDA_R_16BF, n, a, CUDA_R_16BF, k, &zero, c, CUDA_R_32F, n,
                                CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT));
}

// One expert after another: gate/up GEMM, activation, down GEMM (the element size of x and of the
// activation is 4 bytes in fp32, 2 in bf16).
void grouped(const Blas& blas, const std::vector<const DeviceFfnWeights*>& experts,
             const std::vector<int64_t>& offsets, const void* x, bool bf16, float* out,
             float* scratch) {
  C2R_CHECK(offsets.size() == experts.size() + 1,
            "grouped FFN: " << offsets.size() << " offsets for " << experts.size() << " experts");
  const auto handle = static_cast<cublasHandle_t>(blas.handle());
  for (size_t e = 0; e < experts.size(); ++e) {
    const int64_t rows = offsets[e + 1] - offsets[e];
    if (rows == 0) continue;
    const DeviceFfnWeights& w = *experts[e];
    C2R_CHECK(!bf16 || w.gate_up_bf16.size() > 0,
              "grouped bf16 FFN: expert " << e << " has no bf16 copy");
    const int hidden = w.hidden, ffn = w.ffn;
    float* h = scratch;                            // [rows x 2 ffn] fp32
    float* activation = scratch + rows * 2 * ffn;  // [rows x ffn] fp32 or bf16
    const int64_t items = rows * ffn;
    const unsigned blocks = static_cast<unsigned>((items + 255) / 256);
    if (bf16) {
      auto* a = reinterpret_cast<__nv_bfloat16*>(activation);
      gemm_row_major_bf16(handle, rows, 2 * ffn, hidden,
                          static_cast<const __nv_bfloat16*>(x) + offsets[e] * hidden,
                          w.gate_up_bf16.data(), h);
      swiglu_kernel<<<blocks, 256>>>(h, rows, ffn, a);
      C2R_CUDA_CHECK_LAUNCH();
      gemm_row_major_bf16(handle, rows, hidden, ffn, a, w.down_bf16.data(),
                          out + offsets[e] * hidden);
    } else {
      gemm_row_major(handle, rows, 2 * ffn, hidden,
                     static_cast<const float*>(x) + offsets[e] * hidden, w.gate_up.data(), h);
      swiglu_kernel<<<blocks, 256>>>(h, rows, ffn, activation);
      C2R_CUDA_CHECK_LAUNCH();
      gemm_row_major(handle, rows, hidden, ffn, activation, w.down.data(),
                     out + offsets[e] * hidden);
    }
  }
}

}  // namespace

void grouped_swiglu_ffn_bf16(const Blas& blas, const std::vector<const DeviceFfnWeights*>& experts,
                             const std::vector<int64_t>& offsets, const uint16_t* x, float* out,
                             float* scratch) {
  grouped(blas, experts, offsets, x, /*bf16=*/true, out, scratch);
}

void grouped_swiglu_ffn(const Blas& blas, const std::vector<const DeviceFfnWeights*>& experts,
                        const std::vector<int64_t>& offsets, const float* x, float* out,
                        float* scratch) {
  grouped(blas, experts, offsets, x, /*bf16=*/false, out, scratch);
}

void dense_ffn_gemms(const Blas& blas, const DeviceFfnWeights& w, const void* x, int64_t rows,
                     bool bf16, float* out, float* scratch) {
  if (rows == 0) return;
  const auto handle = static_cast<cublasHandle_t>(blas.handle());
  float* h = scratch;  // [rows x 2 ffn]
  if (bf16) {
    // The down GEMM reads the first half of h as bf16 activations of the same shape.
    gemm_row_major_bf16(handle, rows, 2 * w.ffn, w.hidden, x, w.gate_up_bf16.data(), h);
    gemm_row_major_bf16(handle, rows, w.hidden, w.ffn, scratch + rows * 2 * w.ffn,
                        w.down_bf16.data(), out);
  } else {
    gemm_row_major(handle, rows, 2 * w.ffn, w.hidden, static_cast<const float*>(x),
                   w.gate_up.data(), h);
    gemm_row_major(handle, rows, w.hidden, w.ffn, scratch + rows * 2 * w.ffn, w.down.data(), out);
  }
}

}  // namespace c2r::cuda
