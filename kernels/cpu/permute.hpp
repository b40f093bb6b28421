#pragma once
// Row movement kernels: bucket ordering, gathers and the weighted unpermute that finishes a layer.

#include <cstdint>

namespace c2r {

// Stable counting sort of n keys in [0, buckets): offsets[buckets + 1] gets the bucket starts and
// order[n] the item indices in bucket order (item order kept inside a bucket).
void stable_bucket_order(const int32_t* keys, int64_t n, int buckets, int64_t* offsets,
                         int64_t* order);

// dst row i = src row index[i]; rows are `width` floats, leading dimensions ld_src / ld_dst.
void gather_rows(const float* src, int64_t ld_src, const int64_t* index, int64_t count, int width,
                 float* dst, int64_t ld_dst);

// Moves whole blocks of contiguous rows of `width` floats from one order of the same rows to
// another: block b, rows[b] rows, goes from src row src_row[b] to dst row dst_row[b] (src and dst
// dense, leading dimension width). One memcpy per block: the regroup by expert after an all2all
// and its inverse before the return all2all are this call with the row tables swapped.
void copy_row_blocks(const float* src, const int64_t* src_row, const int64_t* rows, int64_t blocks,
                     int width, float* dst, const int64_t* dst_row);

// y[t] = sum_j weight[t*k + j] * src[position[t*k + j]] over j with position >= 0.
// src rows have leading dimension ld_src; y: [tokens x width]. When weight is null every weight
// is 1.
void weighted_unpermute(const float* src, int64_t ld_src, const int64_t* position,
                        const float* weight, int64_t tokens, int k, int width, float* y);

}  // namespace c2r
