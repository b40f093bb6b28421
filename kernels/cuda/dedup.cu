#include "kernels/cuda/cuda_check.hpp"
#include "kernels/cuda/dedup.hpp"

namespace c2r::cuda {

namespace {

constexpr int kThreads = 256;

unsigned blocks_for(int64_t items) {
  return static_cast<unsigned>((items + kThreads - 1) / kThreads);
}

__global__ void row_keys_kernel(const int32_t* ids, int64_t tokens, int k,
                                const int32_t* rank_of_expert, int ranks, int32_t* keys) {
  const int64_t t = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x;
  if (t >= tokens) return;
  for (int j = 0; j < k; ++j) {
    const int dest = rank_of_expert[ids[t * k + j]];
    bool seen = false;
    for (int u = 0; u < j; ++u) seen |= rank_of_expert[ids[t * k + u]] == dest;
    keys[t * k + j] = seen ? ranks : dest;
  }
}

// One block per send row: threads copy the hidden state, thread 0 writes the slots.
__global__ void pack_kernel(const float* x, int hidden, const int32_t* ids, const float* weights,
                            int k, const int32_t* rank_of_expert, const int32_t* local_of_expert,
                            const int64_t* order, const int32_t* keys, float* send) {
  const int64_t row = blockIdx.x;
  const int64_t pair = order[row];
  const int64_t t = pair / k;
  const int dest = keys[pair];
  const int64_t stride = hidden + 2 * k;
  float* out = send + row * stride;
  for (int i = threadIdx.x; i < hidden; i += blockDim.x) out[i] = x[t * hidden + i];
  if (threadIdx.x == 0) {
    for (int j = 0; j < k; ++j) {
      const int e = ids[t * k + j];
      const bool here = rank_of_expert[e] == dest;
      const int32_t id = here ? local_of_expert[e] : -1;
      out[hidden + j] = __int_as_float(id);  // ids travel as raw 32-bit words
      out[hidden + k + j] = here ? weights[t * k + j] : 0.0f;
    }
  }
}

__global__ void unpack_slots_kernel(const float* recv, int64_t rows, int hidden, int k, int local,
                                    int32_t* keys, float* weights) {
  const int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x;
  if (i >= rows * k) return;
  const int64_t row = i / k;
  const int j = static_cast<int>(i % k);
  const float* slots = recv + row * (hidden + 2 * k) + hidden;
  const int32_t id = __float_as_int(slots[j]);
  keys[i] = id < 0 ? local : id;
  weights[i] = slots[k + j];
}

__global__ void mask_kernel(int64_t* position, const int32_t* keys, int64_t n, int32_t dummy) {
  const int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x;
  if (i < n && keys[i] == dummy) position[i] = -1;
}

}  // namespace

void dedup_row_keys(const int32_t* ids, int64_t tokens, int k, const int32_t* rank_of_expert,
                    int ranks, int32_t* keys) {
  if (tokens == 0) return;
  row_keys_kernel<<<blocks_for(tokens), kThreads>>>(ids, tokens, k, rank_of_expert, ranks, keys);
  C2R_CUDA_CHECK_LAUNCH();
}

void dedup_pack(const float* x, int hidden, const int32_t* ids, const float* weights, int k,
                const int32_t* rank_of_expert, const int32_t* local_of_expert, const int64_t* order,
                const int32_t* keys, int64_t rows, float* send) {
  if (rows == 0) return;
  pack_kernel<<<static_cast<unsigned>(rows), kThreads>>>(x, hidden, ids, weights, k, rank_of_expert,
                                                         local_of_expert, order, keys, send);
  C2R_CUDA_CHECK_LAUNCH();
}

void dedup_unpack_slots(const float* recv, int64_t rows, int hidden, int k, int local,
                        int32_t* keys, float* weights) {
  if (rows == 0) return;
  unpack_slots_kernel<<<blocks_for(rows * k), kThreads>>>(recv, rows, hidden, k, local, keys,
                                                          weights);
  C2R_CUDA_CHECK_LAUNCH();
}

void mask_positions(int64_t* position, const int32_t* keys, int64_t n, int32_t dummy) {
  if (n == 0) return;
  mask_kernel<<<blocks_for(n), kThreads>>>(position, keys, n, dummy);
  C2R_CUDA_CHECK_LAUNCH();
}

}  // namespace c2r::cuda
