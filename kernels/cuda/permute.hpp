#pragma once
// GPU permute / unpermute: a stable sort of (token, expert) pairs by expert (histogram, scan and a
// stable radix sort), row gathers into expert order, and the weighted sum back to token order —
// the same results as the CPU kernels in kernels/cpu/permute.hpp.

#include <cstdint>

#include "kernels/cuda/device.hpp"

namespace c2r::cuda {

// Reuses its scratch across calls of the same or smaller size.
class PairSorter {
 public:
  // As c2r::stable_bucket_order, on the device. keys: [pairs] in [0, experts);
  // offsets: [experts + 1] where each expert's pairs start; order: [pairs] pair indices sorted by
  // expert (stable: pair order within an expert); position: [pairs], position[order[i]] = i.
  void sort(const int32_t* keys, int64_t pairs, int experts, int64_t* offsets, int64_t* order,
            int64_t* position);

 private:
  DeviceBuffer<int64_t> counts_;    // [experts + 1]
  DeviceBuffer<int32_t> keys_out_;  // [pairs]
  DeviceBuffer<int64_t> identity_;  // [pairs] 0..pairs-1
  DeviceBuffer<int64_t> scratch_;   // CUB temporary storage
};

// dst row i = src row (index[i] / row_divisor); rows are `width` floats with leading dimensions
// ld_src / ld_dst. row_divisor = top_k gathers token rows for (token, expert) pairs.
void gather_rows(const float* src, int64_t ld_src, const int64_t* index, int64_t count,
                 int row_divisor, int width, float* dst, int64_t ld_dst);

// As c2r::copy_row_blocks, on the device: block b, rows[b] rows of `width` floats, moves from src
// row src_row[b] to dst row dst_row[b] (src and dst dense, leading dimension width). The tables
// are [blocks] on the device; largest_rows: the most rows of any block. The regroup by expert
// after the all2all and its inverse are this call with the row tables swapped.
void copy_row_blocks(const float* src, const int64_t* src_row, const int64_t* rows, int blocks,
                     int64_t largest_rows, int width, float* dst, const int64_t* dst_row);

// y[t] = sum over j with position[t*k + j] >= 0 of weight[t*k + j] * src[position[t*k + j]];
// weight may be null (all 1). y: [tokens x width].
void weighted_unpermute(const float* src, int64_t ld_src, const int64_t* position,
                        const float* weight, int64_t tokens, int k, int width, float* y);

// Padded (capacity) layout: pair order[i] (pairs sorted by slot, token order kept) takes row
// slot * capacity + (i - offsets[slot]) of send [slots x capacity x width] when that is below the
// capacity, else it is dropped. position[pair] = its row, or -1 when dropped. slot_of_pair:
// [pairs]. Rows not taken keep what send held (the caller zeroes it).
void padded_scatter(const float* x, int width, const int64_t* order, const int32_t* slot_of_pair,
                    const int64_t* offsets, int64_t pairs, int k, int64_t capacity, float* send,
                    int64_t* position);

// y[t] += scale[t] * src[t] for rows of `width` floats (the shared expert's gated output).
void add_scaled_rows(float* y, const float* scale, const float* src, int64_t rows, int width);

// out[i] = table[keys[i]] (e.g. expert id -> (destination rank, local expert) slot).
void map_keys(const int32_t* keys, int64_t n, const int32_t* table, int32_t* out);

// counts[i] = offsets[i + 1] - offsets[i] for i < n.
void counts_from_offsets(const int64_t* offsets, int n, int64_t* counts);

}  // namespace c2r::cuda
