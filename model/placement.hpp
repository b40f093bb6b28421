#pragma once
// Expert -> rank placements as values: a validated balanced placement, the contiguous
// (MegaBlocks) and round-robin rules, and placement files. The searched placements (the
// collaboration-aware one, the tuner's) are made in tuner/ and arrive as Placement values.

#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "model/collaboration.hpp"

namespace c2r {

class Placement {
 public:
  // Validates that every expert has a rank in [0, ranks) and that every rank owns experts/ranks
  // experts (balanced; throws c2r::Error otherwise).
  Placement(std::string name, std::vector<int> expert_rank, int ranks);

  const std::string& name() const { return name_; }
  int experts() const { return static_cast<int>(expert_rank_.size()); }
  int ranks() const { return ranks_; }
  int experts_per_rank() const { return experts() / ranks_; }
  int rank_of(int expert) const { return expert_rank_[expert]; }
  // Position of `expert` among its rank's experts (ascending expert id).
  int local_index(int expert) const { return local_index_[expert]; }
  // Experts owned by `rank`, ascending.
  const std::vector<int>& local_experts(int rank) const { return local_experts_[rank]; }
  const std::vector<int>& expert_rank() const { return expert_rank_; }
  // Sum of collaboration counts between experts that share a rank (each pair once).
  double internal_collaboration(const CollaborationMatrix& matrix) const;

 private:
  std::string name_;
  int ranks_;
  std::vector<int> expert_rank_;                 // [experts]
  std::vector<int> local_index_;                 // [experts]
  std::vector<std::vector<int>> local_experts_;  // [ranks][experts_per_rank]
};

// Throws c2r::Error with a clear message when experts do not divide over ranks.
void check_experts_divide(int experts, int ranks);

// "contiguous", "round-robin" and "collab": placements made by rule, not read from a file.
bool is_builtin_placement(const std::string& name);

Placement contiguous_placement(int experts, int ranks);
Placement round_robin_placement(int experts, int ranks);

// A placement file (schema "c2rbench.placement"): either one "expert_rank" for every layer, or
// "layers": [{"layer": L, "expert_rank": [...]}, ...], or both (per-layer entries win). A tuning
// file (schema "c2rbench.tuning", written by `c2rbench tune`) has the same fields and names its
// model.
struct PlacementFile {
  std::string source;
  std::string model;  // tuning files: the model preset it was tuned for
  int experts = 0;
  int ranks = 0;
  std::vector<int> every_layer;               // empty when absent
  std::map<int, std::vector<int>> per_layer;  // layer -> expert_rank

  // The placement of `layer` for `ranks` ranks; throws c2r::Error if the file does not fit (rank
  // count, experts, a missing layer, or a tuning file made for another model).
  Placement for_layer(int layer, int run_experts, int run_ranks,
                      const std::string& run_model = "") const;
};

// Throws c2r::Error naming `source` (and the "layers" entry) for what no run could use: experts or
// ranks below 1, an "expert_rank" of another length than "experts" or with a rank outside
// 0..ranks-1, a negative layer, or a layer listed twice.
PlacementFile parse_placement_file(const std::string& text, const std::string& source);
nlohmann::json placement_file_json(int experts, int ranks, const std::map<int, Placement>& layers);

}  // namespace c2r
