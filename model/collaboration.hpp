#pragma once
// Expert collaboration: the co-activation matrix C[i][j] (tokens routed to both i and j) and the
// collaborative list order[i] (experts by co-activation with i, most frequent first) that C2R's
// Top-T(i) is read from.

#include <cstddef>
#include <cstdint>
#include <vector>

namespace c2r {

struct CollaborationMatrix {
  int experts = 0;
  std::vector<double> counts;  // [experts x experts], symmetric, zero diagonal

  CollaborationMatrix() = default;
  explicit CollaborationMatrix(int num_experts)
      : experts(num_experts), counts(static_cast<size_t>(num_experts) * num_experts, 0.0) {}
  double at(int i, int j) const { return counts[static_cast<size_t>(i) * experts + j]; }
  double& at(int i, int j) { return counts[static_cast<size_t>(i) * experts + j]; }
  double total() const;
};

struct CollaborativeList {
  int experts = 0;
  std::vector<int> order;  // [experts x experts]: row i = all experts by co-activation with i

  // Top-T(i): the first `top_t` experts of row i, i itself skipped. Requires top_t <= experts - 1.
  std::vector<int> top_t(int expert, int top_t) const;
};

// Row i sorted by descending count (ties: lower expert id first), i itself last.
CollaborativeList collaborative_list_from(const CollaborationMatrix& matrix);

// Co-activation counts of routed tokens: every pair of distinct experts chosen for one token adds 1
// to [i][j] and [j][i]. expert_ids: [tokens x top_k].
CollaborationMatrix coactivation_counts(const std::vector<int32_t>& expert_ids, int top_k,
                                        int experts);

}  // namespace c2r
