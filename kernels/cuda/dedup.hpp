#pragma once
// GPU kernels of the rank-deduplicated exchange (C2R / Occult): one row per (token, destination
// rank) carrying the token's hidden state and, per slot j of its top-k, the local expert index on
// that destination (raw 32-bit word, -1 when the slot's expert lives elsewhere) and the gate
// weight. Row layout: [hidden floats | k ids | k weights], as the CPU dedup strategy sends it.

#include <cstdint>

namespace c2r::cuda {

// keys[t*k + j] = the destination rank of pair (t, j) when j is the first slot of token t with
// that destination (the slot that leads the row), else `ranks` (no row). ids: [tokens x k];
// rank_of_expert: [E].
void dedup_row_keys(const int32_t* ids, int64_t tokens, int k, const int32_t* rank_of_expert,
                    int ranks, int32_t* keys);

// Send row i < rows: the row led by pair order[i] (pairs sorted by keys, rows first).
// send: [rows x (hidden + 2k)].
void dedup_pack(const float* x, int hidden, const int32_t* ids, const float* weights, int k,
                const int32_t* rank_of_expert, const int32_t* local_of_expert, const int64_t* order,
                const int32_t* keys, int64_t rows, float* send);

// A received row's slots as sort keys (the local expert, or `local` for none) and weights.
// recv: [rows x (hidden + 2k)]; keys, weights: [rows x k].
void dedup_unpack_slots(const float* recv, int64_t rows, int hidden, int k, int local,
                        int32_t* keys, float* weights);

// position[i] = -1 wherever keys[i] == dummy (slots that are not rows or not local pairs).
void mask_positions(int64_t* position, const int32_t* keys, int64_t n, int32_t dummy);

}  // namespace c2r::cuda
