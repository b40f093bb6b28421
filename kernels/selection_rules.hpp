#pragma once
// The expert-selection rules the CPU and CUDA gates share, so that both choose the same experts in
// the same order: a higher logit wins, an equal logit goes to the lower expert id.

#ifdef __CUDACC__
#define C2R_HOST_DEVICE __host__ __device__
#else
#define C2R_HOST_DEVICE
#endif

namespace c2r {

// a outranks b: higher logit, or equal logit and lower id.
C2R_HOST_DEVICE inline bool outranks(const float* logit, int a, int b) {
  return logit[a] > logit[b] || (logit[a] == logit[b] && a < b);
}

// Inserts `candidate` into chosen[0..count) kept in rank order, capacity `k`. Returns new count.
C2R_HOST_DEVICE inline int insert_ranked(const float* logit, int candidate, int* chosen, int count,
                                         int k) {
  int pos = count < k ? count : k;
  if (count == k && !outranks(logit, candidate, chosen[k - 1])) return count;
  while (pos > 0 && outranks(logit, candidate, chosen[pos - 1])) {
    if (pos < k) chosen[pos] = chosen[pos - 1];
    --pos;
  }
  chosen[pos] = candidate;
  return count < k ? count + 1 : k;
}

}  // namespace c2r
