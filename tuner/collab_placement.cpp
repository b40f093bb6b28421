#include "tuner/collab_placement.hpp"

#include <cmath>
#include <functional>

#include "common/error.hpp"

namespace c2r {

double balanced_partition_count(int experts, int ranks) {
  // experts! / ((experts/ranks)!^ranks * ranks!)
  const int per_rank = experts / ranks;
  return std::exp(std::lgamma(experts + 1.0) - ranks * std::lgamma(per_rank + 1.0) -
                  std::lgamma(ranks + 1.0));
}

namespace {

// Exhaustive search over balanced partitions. Groups are filled one at a time; each group starts
// with the lowest unassigned expert, so every partition is visited exactly once.
std::vector<int> exhaustive_partition(const CollaborationMatrix& m, int ranks, double* visited) {
  const int experts = m.experts;
  const int per_rank = experts / ranks;
  std::vector<int> owner(experts, -1), best;
  double best_score = -1.0;
  std::function<void(int, int, double)> place = [&](int group, int filled, double score) {
    if (group == ranks) {
      *visited += 1;
      if (score > best_score) {
        best_score = score;
        best = owner;
      }
      return;
    }
    if (filled == per_rank) {
      place(group + 1, 0, score);
      return;
    }
    int first_free = 0;
    while (owner[first_free] != -1) ++first_free;
    int start = filled == 0 ? first_free : 0;
    // Members of a group are added in increasing id order.
    if (filled > 0) {
      for (int e = experts - 1; e >= 0; --e) {
        if (owner[e] == group) {
          start = e + 1;
          break;
        }
      }
    }
    for (int e = start; e < experts; ++e) {
      if (owner[e] != -1) continue;
      double gain = 0.0;
      for (int other = 0; other < experts; ++other) {
        if (owner[other] == group) gain += m.at(e, other);
      }
      owner[e] = group;
      place(group, filled + 1, score + gain);
      owner[e] = -1;
      if (filled == 0) break;  // the group's first member is always the lowest free expert
    }
  };
  place(0, 0, 0.0);
  return best;
}

std::vector<int> swap_local_search(const CollaborationMatrix& m, int ranks, double* visited) {
  const int experts = m.experts;
  std::vector<int> owner = contiguous_placement(experts, ranks).expert_rank();
  // affinity[e][r] = collaboration between expert e and the experts on rank r.
  std::vector<double> affinity(static_cast<size_t>(experts) * ranks, 0.0);
  auto rebuild = [&] {
    std::fill(affinity.begin(), affinity.end(), 0.0);
    for (int e = 0; e < experts; ++e) {
      for (int o = 0; o < experts; ++o) {
        if (o != e) affinity[static_cast<size_t>(e) * ranks + owner[o]] += m.at(e, o);
      }
    }
  };
  rebuild();
  bool improved = true;
  while (improved) {
    improved = false;
    for (int a = 0; a < experts; ++a) {
      for (int b = a + 1; b < experts; ++b) {
        const int ra = owner[a], rb = owner[b];
        if (ra == rb) continue;
        *visited += 1;
        const double gain = affinity[static_cast<size_t>(a) * ranks + rb] - m.at(a, b) -
                            affinity[static_cast<size_t>(a) * ranks + ra] +
                            affinity[static_cast<size_t>(b) * ranks + ra] - m.at(a, b) -
                            affinity[static_cast<size_t>(b) * ranks + rb];
        if (gain > 1e-9) {
          std::swap(owner[a], owner[b]);
          rebuild();
          improved = true;
        }
      }
    }
  }
  return owner;
}

}  // namespace

Placement collab_placement(const CollaborationMatrix& matrix, int ranks, CollabSearch* search) {
  check_experts_divide(matrix.experts, ranks);
  CollabSearch local;
  std::vector<int> owner;
  if (balanced_partition_count(matrix.experts, ranks) <= kMaxExhaustivePartitions) {
    local.method = "exhaustive";
    owner = exhaustive_partition(matrix, ranks, &local.candidates);
  } else {
    local.method = "swap-local-search";
    owner = swap_local_search(matrix, ranks, &local.candidates);
  }
  if (search) *search = local;
  return Placement("collab", owner, ranks);
}

}  // namespace c2r
