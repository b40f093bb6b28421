#pragma once
// Placement search: the balanced expert -> rank placement of one layer that minimises the cost
// model's predicted layer time.
//   exhaustive   every balanced placement, when there are at most SearchOptions::max_exhaustive.
//   metis+swap   otherwise: METIS partitions the co-activation graph (vertex weights: one expert,
//                its load), hierarchically across nodes (node groups first, then the ranks of
//                each node); sizes are repaired to exactly E/R per rank; then pairwise swaps are
//                kept while they lower the predicted time.
//   round-robin+swap  the same when METIS declined a partition: that part starts round-robin,
//                and the result carries a warning naming METIS's error.

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "tuner/cost_model.hpp"

namespace c2r {

struct SearchOptions {
  double max_exhaustive = 1e5;     // placements evaluated one by one at most
  int max_passes = 100;            // swap passes over every expert pair
  double time_limit_s = 60.0;      // the swap search stops after the pass that crosses it
  int64_t max_swap_tokens = 8192;  // the swap search runs on at most this many sample tokens
  uint64_t seed = 1;               // METIS seed
};

struct SearchResult {
  std::vector<int> expert_rank;  // [experts]
  std::string method;            // "exhaustive", "metis+swap" or "round-robin+swap"
  double candidates = 0;         // placements evaluated
  double seed_objective = 0;     // +swap: the start placement's objective before swaps
  std::string warning;           // empty, or why the start is not METIS's (METIS's error)
  Prediction prediction;
};

SearchResult search_placement(const CostModel& model, const RoutingSample& sample,
                              const SearchOptions& options);

// Every balanced placement (owner per expert, E/R experts per rank), each once. Ranks are not
// interchangeable: each holds its own block of the sample's tokens and its own links.
void for_each_balanced_placement(int experts, int ranks,
                                 const std::function<void(const std::vector<int>&)>& visit);
// E! / ((E/R)!)^R.
double balanced_placement_count(int experts, int ranks);

// METIS on the co-activation graph, hierarchical across nodes, repaired to E/R experts per rank.
// A partition METIS declines is round-robin instead; `failure` (when given) then names METIS's
// error and the partition, else it is left empty.
std::vector<int> metis_placement(const CollaborationMatrix& coactivation,
                                 const std::vector<int64_t>& tokens_per_expert,
                                 const ClusterModel& cluster, uint64_t seed,
                                 std::string* failure = nullptr);

// Pairwise-swap local search from `start`: keeps a swap while it lowers (direction +1) or raises
// (direction -1, for deliberately bad validation placements) the objective. Placement-sensitive
// strategies only.
std::vector<int> swap_search(const CostModel& model, const RoutingSample& sample,
                             std::vector<int> start, int direction, const SearchOptions& options,
                             double* candidates);

// The first `tokens_per_source` tokens of each of the `ranks` source blocks of `sample` (the
// blocks the cost model spreads it over), so every rank keeps its share of the traffic.
RoutingSample subsample_by_source(const RoutingSample& sample, int ranks,
                                  int64_t tokens_per_source);

// A seeded random balanced placement.
std::vector<int> random_placement(int experts, int ranks, uint64_t seed);

}  // namespace c2r
