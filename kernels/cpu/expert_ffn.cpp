#include "kernels/cpu/expert_ffn.hpp"

#include <algorithm>
#include <cmath>

#include "kernels/cpu/blas.hpp"

namespace c2r {

FfnWeights make_ffn_weights(uint64_t seed, Stream stream, int index, int hidden, int ffn) {
  FfnWeights w;
  w.hidden = hidden;
  w.ffn = ffn;
  w.gate_up.resize(static_cast<size_t>(hidden) * 2 * ffn);
  w.down.resize(static_cast<size_t>(ffn) * hidden);
  Rng rng(seed, stream, static_cast<uint64_t>(index));
  const float gate_scale = 1.0f / std::sqrt(static_cast<float>(hidden));
  const float down_scale = 1.0f / std::sqrt(static_cast<float>(ffn));
  for (auto& v : w.gate_up) v = static_cast<float>(rng.normal()) * gate_scale;
  for (auto& v : w.down) v = static_cast<float>(rng.normal()) * down_scale;
  return w;
}

namespace {

inline float silu(float g) {
  return g / (1.0f + std::exp(-g));
}

// gate_up[rows x 2F] -> h[rows x F] in the first F columns (leading dimension 2F).
void swiglu_activate(float* gate_up, int64_t rows, int ffn) {
  for (int64_t r = 0; r < rows; ++r) {
    float* row = gate_up + r * 2 * ffn;
    for (int f = 0; f < ffn; ++f) row[f] = silu(row[f]) * row[ffn + f];
  }
}

// Returns the GEMM pairs it ran.
int64_t ffn_chunks(const FfnWeights& w, const RowBlock& block, float* scratch, bool activate,
                   const ProgressHook& progress = {}) {
  const int hidden = w.hidden;
  const int ffn = w.ffn;
  int64_t gemm_pairs = 0;
  for (int64_t begin = 0; begin < block.rows; begin += kFfnChunkRows) {
    const int rows = static_cast<int>(std::min(kFfnChunkRows, block.rows - begin));
    // scratch[rows x 2F] = x[rows x H] * gate_up[H x 2F]
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, rows, 2 * ffn, hidden, 1.0f,
                block.x + begin * block.ldx, static_cast<int>(block.ldx), w.gate_up.data(), 2 * ffn,
                0.0f, scratch, 2 * ffn);
    if (progress) progress();
    if (activate) swiglu_activate(scratch, rows, ffn);
    // out[rows x H] = h[rows x F] (leading dimension 2F) * down[F x H]
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, rows, hidden, ffn, 1.0f, scratch,
                2 * ffn, w.down.data(), hidden, 0.0f, block.out + begin * block.ldo,
                static_cast<int>(block.ldo));
    if (progress) progress();
    ++gemm_pairs;
  }
  return gemm_pairs;
}

}  // namespace

void swiglu_ffn(const FfnWeights& w, const RowBlock& block, float* scratch,
                const ProgressHook& progress) {
  ffn_chunks(w, block, scratch, /*activate=*/true, progress);
}

int64_t grouped_swiglu_ffn(const std::vector<ExpertGroup>& groups, float* scratch,
                           const ProgressHook& progress) {
  int64_t gemm_pairs = 0;
  for (const auto& group : groups) {
    for (const auto& block : group.blocks) {
      gemm_pairs += ffn_chunks(*group.weights, block, scratch, /*activate=*/true, progress);
    }
  }
  return gemm_pairs;
}

void dense_ffn_gemms(const FfnWeights& w, const float* x, int64_t rows, float* scratch,
                     float* out) {
  RowBlock block{x, w.hidden, out, w.hidden, rows};
  ffn_chunks(w, block, scratch, /*activate=*/false);
}

void swiglu_ffn_naive(const FfnWeights& w, const float* x, int64_t rows, float* out) {
  const int hidden = w.hidden;
  const int ffn = w.ffn;
  std::vector<double> h(ffn);
  for (int64_t r = 0; r < rows; ++r) {
    const float* xr = x + r * hidden;
    for (int f = 0; f < ffn; ++f) {
      double g = 0.0, u = 0.0;
      for (int i = 0; i < hidden; ++i) {
        g += static_cast<double>(xr[i]) * w.gate_up[static_cast<size_t>(i) * 2 * ffn + f];
        u += static_cast<double>(xr[i]) * w.gate_up[static_cast<size_t>(i) * 2 * ffn + ffn + f];
      }
      h[f] = g / (1.0 + std::exp(-g)) * u;
    }
    for (int o = 0; o < hidden; ++o) {
      double acc = 0.0;
      for (int f = 0; f < ffn; ++f) acc += h[f] * w.down[static_cast<size_t>(f) * hidden + o];
      out[r * hidden + o] = static_cast<float>(acc);
    }
  }
}

}  // namespace c2r
