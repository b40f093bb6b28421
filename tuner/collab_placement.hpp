#pragma once
// The collaboration-aware placement: the balanced placement that keeps the most co-activation
// inside ranks.

#include "model/collaboration.hpp"
#include "model/placement.hpp"

namespace c2r {

// How the collaboration-aware placement was found.
struct CollabSearch {
  std::string method;     // "exhaustive" or "swap-local-search"
  double candidates = 0;  // placements evaluated
};

// Balanced placement maximising the collaboration kept inside ranks: exhaustive over every balanced
// partition when there are at most kMaxExhaustivePartitions, else pairwise-swap local search from
// the contiguous placement.
constexpr double kMaxExhaustivePartitions = 2e6;
Placement collab_placement(const CollaborationMatrix& matrix, int ranks,
                           CollabSearch* search = nullptr);
// Number of balanced partitions of `experts` into `ranks` unlabelled equal groups.
double balanced_partition_count(int experts, int ranks);

}  // namespace c2r
