#include "kernels/cpu/permute.hpp"

#include <algorithm>
#include <cstring>

namespace c2r {

void stable_bucket_order(const int32_t* keys, int64_t n, int buckets, int64_t* offsets,
                         int64_t* order) {
  std::fill(offsets, offsets + buckets + 1, 0);
  for (int64_t i = 0; i < n; ++i) ++offsets[keys[i] + 1];
  for (int b = 0; b < buckets; ++b) offsets[b + 1] += offsets[b];
  // offsets[b] doubles as the write cursor of bucket b, then is shifted back.
  for (int64_t i = 0; i < n; ++i) order[offsets[keys[i]]++] = i;
  for (int b = buckets; b > 0; --b) offsets[b] = offsets[b - 1];
  offsets[0] = 0;
}

void gather_rows(const float* src, int64_t ld_src, const int64_t* index, int64_t count, int width,
                 float* dst, int64_t ld_dst) {
  const size_t bytes = static_cast<size_t>(width) * sizeof(float);
  for (int64_t i = 0; i < count; ++i) std::memcpy(dst + i * ld_dst, src + index[i] * ld_src, bytes);
}

void copy_row_blocks(const float* src, const int64_t* src_row, const int64_t* rows, int64_t blocks,
                     int width, float* dst, const int64_t* dst_row) {
  for (int64_t b = 0; b < blocks; ++b) {
    if (rows[b] == 0) continue;
    std::memcpy(dst + dst_row[b] * width, src + src_row[b] * width,
                static_cast<size_t>(rows[b]) * width * sizeof(float));
  }
}

void weighted_unpermute(const float* src, int64_t ld_src, const int64_t* position,
                        const float* weight, int64_t tokens, int k, int width, float* y) {
  for (int64_t t = 0; t < tokens; ++t) {
    float* out = y + t * width;
    std::fill(out, out + width, 0.0f);
    for (int j = 0; j < k; ++j) {
      const int64_t pos = position[t * k + j];
      if (pos < 0) continue;
      const float w = weight ? weight[t * k + j] : 1.0f;
      const float* row = src + pos * ld_src;
      for (int i = 0; i < width; ++i) out[i] += w * row[i];
    }
  }
}

}  // namespace c2r
