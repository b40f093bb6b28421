#pragma once
// Expert FFN (SwiGLU): out = down(silu(x * W_gate) * (x * W_up)), through BLAS, grouped over
// variable-size groups of rows that may sit in several blocks of a buffer.

#include <cstdint>
#include <functional>
#include <vector>

#include "common/rng.hpp"

namespace c2r {

struct FfnWeights {
  int hidden = 0;
  int ffn = 0;
  std::vector<float> gate_up;  // [hidden x 2*ffn]: columns [0, ffn) = W_gate, [ffn, 2*ffn) = W_up
  std::vector<float> down;     // [ffn x hidden]

  double flops_per_row() const { return 2.0 * hidden * 2.0 * ffn + 2.0 * ffn * hidden; }
};

// Seeded weights, N(0, 1/hidden) for gate/up and N(0, 1/ffn) for down, so activations stay O(1).
FfnWeights make_ffn_weights(uint64_t seed, Stream stream, int index, int hidden, int ffn);

// Rows of one buffer that go through one expert: x rows [rows x hidden] (leading dimension ldx)
// produce out rows [rows x hidden] (leading dimension ldo).
struct RowBlock {
  const float* x = nullptr;
  int64_t ldx = 0;
  float* out = nullptr;
  int64_t ldo = 0;
  int64_t rows = 0;
};

struct ExpertGroup {
  const FfnWeights* weights = nullptr;
  std::vector<RowBlock> blocks;
};

// Called between GEMM calls of the grouped FFN: an overlapped layer lets its exchanges in flight
// progress there (bench/cpu_layer.cpp). Empty: nothing is called.
using ProgressHook = std::function<void()>;

// Rows per GEMM call; bounds the scratch buffer while keeping GEMMs large.
constexpr int64_t kFfnChunkRows = 2048;

// Floats of scratch the FFN kernels need for FFN width `ffn`.
inline int64_t ffn_scratch_floats(int ffn) {
  return kFfnChunkRows * 2 * static_cast<int64_t>(ffn);
}

// One expert on one block, `progress` called after each GEMM. scratch: at least
// ffn_scratch_floats(ffn) floats.
void swiglu_ffn(const FfnWeights& w, const RowBlock& block, float* scratch,
                const ProgressHook& progress = {});

// Every group's blocks through its expert, `progress` called after each GEMM. Returns the GEMM
// pairs it ran: one per non-empty block, more for a block past kFfnChunkRows rows.
int64_t grouped_swiglu_ffn(const std::vector<ExpertGroup>& groups, float* scratch,
                           const ProgressHook& progress = {});

// The expert phase's ceiling: the same two GEMMs (x * [W_gate|W_up], then h * W_down) on `rows`
// contiguous rows, without the activation. x, out: [rows x hidden].
void dense_ffn_gemms(const FfnWeights& w, const float* x, int64_t rows, float* scratch, float* out);

// Plain loops, for tests: out[rows x hidden] = SwiGLU FFN of x[rows x hidden].
void swiglu_ffn_naive(const FfnWeights& w, const float* x, int64_t rows, float* out);

}  // namespace c2r
