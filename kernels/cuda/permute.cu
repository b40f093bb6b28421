#include <cub/cub.cuh>

#include "kernels/cuda/cuda_check.hpp"
#include "kernels/cuda/permute.hpp"

namespace c2r::cuda {

namespace {

constexpr int kThreads = 256;

unsigned blocks_for(int64_t items) {
  return static_cast<unsigned>((items + kThreads - 1) / kThreads);
}

__global__ void histogram_kernel(const int32_t* keys, int64_t pairs, int64_t* counts) {
  const int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x;
  if (i < pairs) {
    atomicAdd(reinterpret_cast<unsigned long long*>(&counts[keys[i]]), 1ULL);
  }
}

__global__ void iota_kernel(int64_t* values, int64_t n) {
  const int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x;
  if (i < n) values[i] = i;
}

__global__ void invert_kernel(const int64_t* order, int64_t n, int64_t* position) {
  const int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x;
  if (i < n) position[order[i]] = i;
}

// One block per destination row; threads stride over the row.
__global__ void gather_kernel(const float* src, int64_t ld_src, const int64_t* index,
                              int row_divisor, int width, float* dst, int64_t ld_dst) {
  const int64_t row = blockIdx.x;
  const float* from = src + (index[row] / row_divisor) * ld_src;
  float* to = dst + row * ld_dst;
  for (int i = threadIdx.x; i < width; i += blockDim.x) to[i] = from[i];
}

// One CUDA block per (row of a block, block): x strides the rows, y the blocks; threads stride
// over the row.
__global__ void copy_blocks_kernel(const float* src, const int64_t* src_row, const int64_t* rows,
                                   int width, float* dst, const int64_t* dst_row) {
  const int b = blockIdx.y;
  const int64_t r = blockIdx.x;
  if (r >= rows[b]) return;
  const float* from = src + (src_row[b] + r) * width;
  float* to = dst + (dst_row[b] + r) * width;
  for (int i = threadIdx.x; i < width; i += blockDim.x) to[i] = from[i];
}

// One block per token.
__global__ void unpermute_kernel(const float* src, int64_t ld_src, const int64_t* position,
                                 const float* weight, int k, int width, float* y) {
  const int64_t t = blockIdx.x;
  for (int i = threadIdx.x; i < width; i += blockDim.x) {
    float sum = 0.0f;
    for (int j = 0; j < k; ++j) {
      const int64_t pos = position[t * k + j];
      if (pos < 0) continue;
      sum += (weight ? weight[t * k + j] : 1.0f) * src[pos * ld_src + i];
    }
    y[t * width + i] = sum;
  }
}

// One block per sorted pair.
__global__ void padded_scatter_kernel(const float* x, int width, const int64_t* order,
                                      const int32_t* slot_of_pair, const int64_t* offsets, int k,
                                      int64_t capacity, float* send, int64_t* position) {
  const int64_t i = blockIdx.x;
  const int64_t pair = order[i];
  const int slot = slot_of_pair[pair];
  const int64_t rank_in_slot = i - offsets[slot];
  if (rank_in_slot >= capacity) {
    if (threadIdx.x == 0) position[pair] = -1;
    return;
  }
  const int64_t row = slot * capacity + rank_in_slot;
  const float* from = x + (pair / k) * width;
  float* to = send + row * width;
  for (int h = threadIdx.x; h < width; h += blockDim.x) to[h] = from[h];
  if (threadIdx.x == 0) position[pair] = row;
}

// One block per row.
__global__ void add_scaled_kernel(float* y, const float* scale, const float* src, int width) {
  const int64_t row = blockIdx.x;
  for (int h = threadIdx.x; h < width; h += blockDim.x) {
    y[row * width + h] += scale[row] * src[row * width + h];
  }
}

__global__ void map_kernel(const int32_t* keys, int64_t n, const int32_t* table, int32_t* out) {
  const int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x;
  if (i < n) out[i] = table[keys[i]];
}

__global__ void diff_kernel(const int64_t* offsets, int n, int64_t* counts) {
  const int i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i < n) counts[i] = offsets[i + 1] - offsets[i];
}

}  // namespace

void PairSorter::sort(const int32_t* keys, int64_t pairs, int experts, int64_t* offsets,
                      int64_t* order, int64_t* position) {
  counts_.grow(static_cast<size_t>(experts) + 1);
  C2R_CUDA_CHECK(cudaMemset(counts_.data(), 0, (experts + 1) * sizeof(int64_t)));
  if (pairs > 0) {
    histogram_kernel<<<blocks_for(pairs), kThreads>>>(keys, pairs, counts_.data());
    C2R_CUDA_CHECK_LAUNCH();
  }
  // offsets[e] = pairs of experts < e; counts_[experts] is 0, so offsets[experts] = pairs.
  size_t scan_bytes = 0, sort_bytes = 0;
  C2R_CUDA_CHECK(
      cub::DeviceScan::ExclusiveSum(nullptr, scan_bytes, counts_.data(), offsets, experts + 1));
  keys_out_.grow(static_cast<size_t>(pairs));
  identity_.grow(static_cast<size_t>(pairs));
  int end_bit = 1;
  while ((1 << end_bit) < experts) ++end_bit;
  C2R_CUDA_CHECK(cub::DeviceRadixSort::SortPairs(nullptr, sort_bytes, keys, keys_out_.data(),
                                                 identity_.data(), order, static_cast<int>(pairs),
                                                 0, end_bit));
  scratch_.grow((std::max(scan_bytes, sort_bytes) + sizeof(int64_t) - 1) / sizeof(int64_t));
  size_t bytes = scratch_.size() * sizeof(int64_t);
  C2R_CUDA_CHECK(
      cub::DeviceScan::ExclusiveSum(scratch_.data(), bytes, counts_.data(), offsets, experts + 1));
  if (pairs == 0) return;
  iota_kernel<<<blocks_for(pairs), kThreads>>>(identity_.data(), pairs);
  C2R_CUDA_CHECK_LAUNCH();
  // Radix sort is stable: pairs of one expert keep their order.
  bytes = scratch_.size() * sizeof(int64_t);
  C2R_CUDA_CHECK(cub::DeviceRadixSort::SortPairs(scratch_.data(), bytes, keys, keys_out_.data(),
                                                 identity_.data(), order, static_cast<int>(pairs),
                                                 0, end_bit));
  invert_kernel<<<blocks_for(pairs), kThreads>>>(order, pairs, position);
  C2R_CUDA_CHECK_LAUNCH();
}

void gather_rows(const float* src, int64_t ld_src, const int64_t* index, int64_t count,
                 int row_divisor, int width, float* dst, int64_t ld_dst) {
  if (count == 0) return;
  gather_kernel<<<static_cast<unsigned>(count), kThreads>>>(src, ld_src, index, row_divisor, width,
                                                            dst, ld_dst);
  C2R_CUDA_CHECK_LAUNCH();
}

void copy_row_blocks(const float* src, const int64_t* src_row, const int64_t* rows, int blocks,
                     int64_t largest_rows, int width, float* dst, const int64_t* dst_row) {
  if (blocks == 0 || largest_rows == 0) return;
  C2R_CHECK(blocks <= 65535, "copy_row_blocks: " << blocks << " blocks exceed the grid's y extent");
  const dim3 grid(static_cast<unsigned>(largest_rows), static_cast<unsigned>(blocks));
  copy_blocks_kernel<<<grid, kThreads>>>(src, src_row, rows, width, dst, dst_row);
  C2R_CUDA_CHECK_LAUNCH();
}

void weighted_unpermute(const float* src, int64_t ld_src, const int64_t* position,
                        const float* weight, int64_t tokens, int k, int width, float* y) {
  if (tokens == 0) return;
  unpermute_kernel<<<static_cast<unsigned>(tokens), kThreads>>>(src, ld_src, position, weight, k,
                                                                width, y);
  C2R_CUDA_CHECK_LAUNCH();
}

void map_keys(const int32_t* keys, int64_t n, const int32_t* table, int32_t* out) {
  if (n == 0) return;
  map_kernel<<<blocks_for(n), kThreads>>>(keys, n, table, out);
  C2R_CUDA_CHECK_LAUNCH();
}

void counts_from_offsets(const int64_t* offsets, int n, int64_t* counts) {
  if (n == 0) return;
  diff_kernel<<<blocks_for(n), kThreads>>>(offsets, n, counts);
  C2R_CUDA_CHECK_LAUNCH();
}

void padded_scatter(const float* x, int width, const int64_t* order, const int32_t* slot_of_pair,
                    const int64_t* offsets, int64_t pairs, int k, int64_t capacity, float* send,
                    int64_t* position) {
  if (pairs == 0) return;
  padded_scatter_kernel<<<static_cast<unsigned>(pairs), kThreads>>>(
      x, width, order, slot_of_pair, offsets, k, capacity, send, position);
  C2R_CUDA_CHECK_LAUNCH();
}

void add_scaled_rows(float* y, const float* scale, const float* src, int64_t rows, int width) {
  if (rows == 0) return;
  add_scaled_kernel<<<static_cast<unsigned>(rows), kThreads>>>(y, scale, src, width);
  C2R_CUDA_CHECK_LAUNCH();
}

}  // namespace c2r::cuda
