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

// Every rank holds the same number of expert slots (experts_per_rank(): E/R, plus its share of
// the redundant experts in a replicated placement, as EPLB's physical experts are fixed per GPU).
// Slot s lives on rank s / experts_per_rank() at local index s % experts_per_rank(). Without
// replicas each expert has one slot and a rank's slots hold its experts in ascending order; with
// replicas (an expert in several slots) the layer routes each (token, expert) pair to one slot
// (route_to_slots) and the exchange sees the slots as its experts (slot_placement()).
class Placement {
 public:
  // One rank per expert. Validates that every expert has a rank in [0, ranks) and that every rank
  // owns experts/ranks experts (balanced; throws c2r::Error otherwise).
  Placement(std::string name, std::vector<int> expert_rank, int ranks);
  // Replicated experts: rank_experts[r] lists the experts of rank r's slots in slot order
  // ([ranks][slots per rank]). Validates that every rank has the same number of slots, every
  // expert id is in [0, experts) and every expert has at least one slot (throws c2r::Error).
  // An expert may appear once on a rank (or more: its slots there split its remote tokens).
  Placement(std::string name, const std::vector<std::vector<int>>& rank_experts, int experts);

  const std::string& name() const { return name_; }
  int experts() const { return static_cast<int>(expert_slots_.size()); }
  int ranks() const { return ranks_; }
  // Expert slots per rank (E/R without replicas).
  int experts_per_rank() const { return slots_per_rank_; }
  int slots() const { return ranks_ * slots_per_rank_; }
  // Redundant experts: slots beyond one per expert (0: every expert has one rank).
  int replicas() const { return slots() - experts(); }
  bool replicated() const { return replicas() > 0; }
  int slot_expert(int slot) const { return slot_expert_[slot]; }
  // The slots holding `expert`, ascending.
  const std::vector<int>& expert_slots(int expert) const { return expert_slots_[expert]; }

  // One rank per expert only (throw c2r::Error on a replicated placement, whose experts have
  // several ranks: code that routes pairs asks route_to_slots):
  int rank_of(int expert) const;
  // Position of `expert` among its rank's experts (ascending expert id).
  int local_index(int expert) const;
  // [E] the rank of every expert; empty for a replicated placement.
  const std::vector<int>& expert_rank() const { return expert_rank_; }

  // The experts of `rank`'s slots in slot order (ascending expert id without replicas).
  const std::vector<int>& local_experts(int rank) const { return local_experts_[rank]; }
  // [ranks][slots per rank] local_experts of every rank.
  const std::vector<std::vector<int>>& rank_experts() const { return local_experts_; }
  // The ranks holding `expert` (each once, ascending).
  std::vector<int> ranks_of(int expert) const;

  // The replica each pair of `source_rank`'s tokens goes to. expert_ids: [pairs] (token order),
  // slot_ids: [pairs]. A pair goes to its expert's only slot; else to a slot on the source rank
  // when there is one (the first); else the expert's remote pairs of this rank take its slots in
  // turn, starting at slot (source_rank mod replicas), so that every slot serves an even share
  // (EPLB's assumption: replicas split an expert's load evenly). Deterministic: the same routing
  // on the same rank gives the same slots.
  void route_to_slots(const int32_t* expert_ids, int64_t pairs, int source_rank,
                      int32_t* slot_ids) const;
  // The placement the exchange sees: slots() experts (the slots), slot s on rank
  // s / experts_per_rank(). Only meaningful for a replicated placement.
  Placement slot_placement() const;

  // Sum of collaboration counts between experts that share a rank (each pair once).
  double internal_collaboration(const CollaborationMatrix& matrix) const;

 private:
  std::string name_;
  int ranks_ = 0;
  int slots_per_rank_ = 0;
  std::vector<int> expert_rank_;                 // [experts], empty when replicated
  std::vector<int> local_index_;                 // [experts], empty when replicated
  std::vector<std::vector<int>> local_experts_;  // [ranks][slots per rank]
  std::vector<int> slot_expert_;                 // [slots]
  std::vector<std::vector<int>> expert_slots_;   // [experts][its slots]
};

// Throws c2r::Error with a clear message when experts do not divide over ranks.
void check_experts_divide(int experts, int ranks);

// "contiguous", "round-robin", "collab" and "eplb": placements made by rule, not read from a file.
bool is_builtin_placement(const std::string& name);

Placement contiguous_placement(int experts, int ranks);
Placement round_robin_placement(int experts, int ranks);

// One layer's placement as a file holds it: "expert_rank" (one rank per expert) or, from
// placement schema version 2, "rank_experts" (the experts of each rank's slots: replicated
// experts).
struct PlacementEntry {
  std::vector<int> expert_rank;                // [E], or empty
  std::vector<std::vector<int>> rank_experts;  // [R][slots per rank], or empty
  bool empty() const { return expert_rank.empty() && rank_experts.empty(); }
};

// A placement file (schema "c2rbench.placement", version 1 or 2): either one placement for every
// layer ("expert_rank" or "rank_experts" at the top), or "layers": [{"layer": L, "expert_rank":
// [...]} or {"layer": L, "rank_experts": [[...], ...]}, ...], or both (per-layer entries win).
// A tuning file (schema "c2rbench.tuning", written by `c2rbench tune`) has the same fields and
// names its model.
struct PlacementFile {
  std::string source;
  std::string model;  // tuning files: the model preset it was tuned for
  int experts = 0;
  int ranks = 0;
  PlacementEntry every_layer;               // empty when absent
  std::map<int, PlacementEntry> per_layer;  // layer ->

  // The placement of `layer` for `ranks` ranks; throws c2r::Error if the file does not fit (rank
  // count, experts, a missing layer, or a tuning file made for another model).
  Placement for_layer(int layer, int run_experts, int run_ranks,
                      const std::string& run_model = "") const;
};

// The newest placement file version this build writes and reads.
constexpr int kPlacementSchemaVersion = 2;

// Throws c2r::Error naming `source` (and the "layers" entry) for what no run could use: experts or
// ranks below 1, an "expert_rank" of another length than "experts" or with a rank outside
// 0..ranks-1, a "rank_experts" without "ranks" lists of one length or with an expert outside
// 0..experts-1 (or in a version 1 file), a negative layer, or a layer listed twice.
PlacementFile parse_placement_file(const std::string& text, const std::string& source);
// Version 2; each layer as "expert_rank", or "rank_experts" when it has replicas.
nlohmann::json placement_file_json(int experts, int ranks, const std::map<int, Placement>& layers);

}  // namespace c2r
