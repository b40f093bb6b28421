#include "model/collaboration.hpp"

#include <algorithm>
#include <numeric>

#include "common/error.hpp"

namespace c2r {

double CollaborationMatrix::total() const {
  return std::accumulate(counts.begin(), counts.end(), 0.0);
}

std::vector<int> CollaborativeList::top_t(int expert, int top_t) const {
  C2R_CHECK(top_t >= 0 && top_t <= experts - 1,
            "Top-T must be between 0 and " << experts - 1 << " (got " << top_t << ")");
  std::vector<int> chosen;
  chosen.reserve(top_t);
  const int* row = &order[static_cast<size_t>(expert) * experts];
  for (int i = 0; i < experts && static_cast<int>(chosen.size()) < top_t; ++i) {
    if (row[i] != expert) chosen.push_back(row[i]);
  }
  return chosen;
}

CollaborativeList collaborative_list_from(const CollaborationMatrix& matrix) {
  CollaborativeList list;
  list.experts = matrix.experts;
  list.order.resize(static_cast<size_t>(matrix.experts) * matrix.experts);
  for (int i = 0; i < matrix.experts; ++i) {
    std::vector<int> row;
    for (int j = 0; j < matrix.experts; ++j) {
      if (j != i) row.push_back(j);
    }
    std::stable_sort(row.begin(), row.end(),
                     [&](int a, int b) { return matrix.at(i, a) > matrix.at(i, b); });
    row.push_back(i);
    std::copy(row.begin(), row.end(), list.order.begin() + static_cast<size_t>(i) * matrix.experts);
  }
  return list;
}

CollaborationMatrix coactivation_counts(const std::vector<int32_t>& expert_ids, int top_k,
                                        int experts) {
  CollaborationMatrix matrix(experts);
  const size_t tokens = expert_ids.size() / top_k;
  for (size_t t = 0; t < tokens; ++t) {
    const int32_t* chosen = &expert_ids[t * top_k];
    for (int a = 0; a < top_k; ++a) {
      for (int b = 0; b < top_k; ++b) {
        if (a != b && chosen[a] != chosen[b]) matrix.at(chosen[a], chosen[b]) += 1.0;
      }
    }
  }
  return matrix;
}

}  // namespace c2r
