#include "model/placement.hpp"

#include <algorithm>

#include "common/error.hpp"
#include "common/json_fields.hpp"
#include "common/json_text.hpp"

namespace c2r {

using nlohmann::json;

void check_experts_divide(int experts, int ranks) {
  C2R_CHECK(ranks >= 1, "need at least one rank");
  C2R_CHECK(experts % ranks == 0, experts << " experts do not divide over " << ranks
                                          << " ranks: every rank must own the same number of "
                                             "experts (choose a rank count that divides "
                                          << experts << ", or another expert count)");
}

Placement::Placement(std::string name, std::vector<int> expert_rank, int ranks)
    : name_(std::move(name)), ranks_(ranks), expert_rank_(std::move(expert_rank)) {
  const int experts = static_cast<int>(expert_rank_.size());
  check_experts_divide(experts, ranks);
  slots_per_rank_ = experts / ranks;
  local_experts_.assign(ranks, {});
  local_index_.assign(experts, 0);
  for (int e = 0; e < experts; ++e) {
    const int r = expert_rank_[e];
    C2R_CHECK(r >= 0 && r < ranks, "placement '" << name_ << "' puts expert " << e << " on rank "
                                                 << r << ", but the run has " << ranks << " ranks");
    local_index_[e] = static_cast<int>(local_experts_[r].size());
    local_experts_[r].push_back(e);
  }
  for (int r = 0; r < ranks; ++r) {
    C2R_CHECK(static_cast<int>(local_experts_[r].size()) == slots_per_rank_,
              "placement '" << name_ << "' gives rank " << r << " " << local_experts_[r].size()
                            << " experts; a balanced placement gives every rank "
                            << slots_per_rank_);
  }
  slot_expert_.resize(experts);
  expert_slots_.assign(experts, {});
  for (int e = 0; e < experts; ++e) {
    const int slot = expert_rank_[e] * slots_per_rank_ + local_index_[e];
    slot_expert_[slot] = e;
    expert_slots_[e] = {slot};
  }
}

Placement::Placement(std::string name, const std::vector<std::vector<int>>& rank_experts,
                     int experts)
    : name_(std::move(name)), ranks_(static_cast<int>(rank_experts.size())) {
  C2R_CHECK(ranks_ >= 1, "placement '" << name_ << "' has no ranks");
  C2R_CHECK(experts >= 1, "placement '" << name_ << "' has no experts");
  slots_per_rank_ = static_cast<int>(rank_experts.front().size());
  for (int r = 0; r < ranks_; ++r) {
    C2R_CHECK(static_cast<int>(rank_experts[r].size()) == slots_per_rank_,
              "placement '" << name_ << "' gives rank " << r << " " << rank_experts[r].size()
                            << " expert slots and rank 0 " << slots_per_rank_
                            << "; every rank holds the same number");
  }
  C2R_CHECK(static_cast<int64_t>(slots_per_rank_) * ranks_ >= experts,
            "placement '" << name_ << "' has " << slots_per_rank_ * ranks_ << " expert slots for "
                          << experts << " experts");
  local_experts_ = rank_experts;
  expert_slots_.assign(experts, {});
  for (int r = 0; r < ranks_; ++r) {
    for (int i = 0; i < slots_per_rank_; ++i) {
      const int e = rank_experts[r][i];
      C2R_CHECK(e >= 0 && e < experts, "placement '" << name_ << "' puts expert " << e
                                                     << " on rank " << r << ", but the model has "
                                                     << experts << " experts");
      slot_expert_.push_back(e);
      expert_slots_[e].push_back(r * slots_per_rank_ + i);
    }
  }
  for (int e = 0; e < experts; ++e) {
    C2R_CHECK(!expert_slots_[e].empty(),
              "placement '" << name_ << "' gives expert " << e << " no rank");
  }
  if (!replicated()) {  // one slot per expert: the one-rank form, ranks' experts ascending
    std::vector<int> owner(experts);
    for (int e = 0; e < experts; ++e) owner[e] = expert_slots_[e].front() / slots_per_rank_;
    *this = Placement(name_, std::move(owner), ranks_);
  }
}

int Placement::rank_of(int expert) const {
  C2R_CHECK(!replicated(), "placement '" << name_ << "' replicates experts: expert " << expert
                                         << " has " << expert_slots_[expert].size() << " slots");
  return expert_rank_[expert];
}

int Placement::local_index(int expert) const {
  C2R_CHECK(!replicated(), "placement '" << name_ << "' replicates experts: expert " << expert
                                         << " has " << expert_slots_[expert].size() << " slots");
  return local_index_[expert];
}

std::vector<int> Placement::ranks_of(int expert) const {
  std::vector<int> ranks;
  for (int slot : expert_slots_[expert]) {
    const int r = slot / slots_per_rank_;
    if (ranks.empty() || ranks.back() != r) ranks.push_back(r);
  }
  return ranks;
}

void Placement::route_to_slots(const int32_t* expert_ids, int64_t pairs, int source_rank,
                               int32_t* slot_ids) const {
  std::vector<int64_t> remote_served(expert_slots_.size(), 0);  // [E] remote pairs routed so far
  for (int64_t p = 0; p < pairs; ++p) {
    const std::vector<int>& slots = expert_slots_[expert_ids[p]];
    int slot = slots.front();
    if (slots.size() > 1) {
      const auto local = std::find_if(slots.begin(), slots.end(),
                                      [&](int s) { return s / slots_per_rank_ == source_rank; });
      if (local != slots.end()) {
        slot = *local;
      } else {
        const int64_t turn = remote_served[expert_ids[p]]++ + source_rank;
        slot = slots[turn % static_cast<int64_t>(slots.size())];
      }
    }
    slot_ids[p] = slot;
  }
}

Placement Placement::slot_placement() const {
  std::vector<int> owner(slots());
  for (int s = 0; s < slots(); ++s) owner[s] = s / slots_per_rank_;
  return Placement(name_ + " (slots)", std::move(owner), ranks_);
}

double Placement::internal_collaboration(const CollaborationMatrix& matrix) const {
  double inside = 0.0;
  if (!replicated()) {
    for (int i = 0; i < experts(); ++i) {
      for (int j = i + 1; j < experts(); ++j) {
        if (expert_rank_[i] == expert_rank_[j]) inside += matrix.at(i, j);
      }
    }
    return inside;
  }
  // Experts share a rank when some rank holds both (any of their replicas' ranks).
  std::vector<std::vector<bool>> on_rank(experts(), std::vector<bool>(ranks_, false));
  for (int e = 0; e < experts(); ++e) {
    for (int r : ranks_of(e)) on_rank[e][r] = true;
  }
  for (int i = 0; i < experts(); ++i) {
    for (int j = i + 1; j < experts(); ++j) {
      bool shared = false;
      for (int r = 0; r < ranks_ && !shared; ++r) shared = on_rank[i][r] && on_rank[j][r];
      if (shared) inside += matrix.at(i, j);
    }
  }
  return inside;
}

bool is_builtin_placement(const std::string& name) {
  return name == "contiguous" || name == "round-robin" || name == "collab" || name == "eplb";
}

Placement contiguous_placement(int experts, int ranks) {
  check_experts_divide(experts, ranks);
  std::vector<int> owner(experts);
  for (int e = 0; e < experts; ++e) owner[e] = e / (experts / ranks);
  return Placement("contiguous", owner, ranks);
}

Placement round_robin_placement(int experts, int ranks) {
  check_experts_divide(experts, ranks);
  std::vector<int> owner(experts);
  for (int e = 0; e < experts; ++e) owner[e] = e % ranks;
  return Placement("round-robin", owner, ranks);
}

namespace {

// An "expert_rank" list: one rank below `ranks` for each of the file's `experts` experts. Whether
// every rank owns its share is checked when a run uses it (Placement), with the run's counts.
std::vector<int> read_expert_rank(const json& value, int experts, int ranks,
                                  const std::string& where) {
  C2R_CHECK(value.is_array(), where << ": \"expert_rank\" must be an array of rank numbers");
  std::vector<int> owner;
  for (const auto& v : value) {
    C2R_CHECK(is_int(v), where << ": \"expert_rank\" holds a non-integer or out-of-range value");
    C2R_CHECK(v.get<int>() >= 0 && v.get<int>() < ranks,
              where << ": \"expert_rank\" holds rank " << v.get<int>() << ", but the file is for "
                    << ranks << " ranks (0 to " << ranks - 1 << ")");
    owner.push_back(v.get<int>());
  }
  C2R_CHECK(static_cast<int>(owner.size()) == experts,
            where << ": \"expert_rank\" has " << owner.size() << " entries, but the file is for "
                  << experts << " experts");
  return owner;
}

// A "rank_experts" list: `ranks` lists of one length, each of expert ids below `experts`, every
// expert in some list.
std::vector<std::vector<int>> read_rank_experts(const json& value, int experts, int ranks,
                                                const std::string& where) {
  C2R_CHECK(value.is_array() && static_cast<int64_t>(value.size()) == ranks,
            where << ": \"rank_experts\" must be an array of " << ranks
                  << " arrays (one per rank) of expert ids");
  // Every expert needs a slot: checked before anything is sized by `experts`, which the lists
  // (the file's bytes) bound only through this.
  const int64_t slots = static_cast<int64_t>(value.size()) *
                        (value.front().is_array() ? static_cast<int64_t>(value.front().size()) : 0);
  C2R_CHECK(slots >= experts, where << ": \"rank_experts\" holds " << slots << " slots for "
                                    << experts << " experts; every expert needs one");
  std::vector<std::vector<int>> lists;
  std::vector<bool> held(experts, false);
  for (const auto& rank : value) {
    C2R_CHECK(rank.is_array() && !rank.empty(),
              where << ": every \"rank_experts\" entry must be a non-empty array of expert ids");
    C2R_CHECK(rank.size() == value.front().size(),
              where << ": \"rank_experts\" lists hold " << value.front().size() << " and "
                    << rank.size() << " experts; every rank holds the same number of slots");
    C2R_CHECK(rank.size() <= static_cast<size_t>(experts),
              where << ": a \"rank_experts\" list holds " << rank.size()
                    << " slots, more than the file's " << experts << " experts");
    lists.emplace_back();
    for (const auto& v : rank) {
      C2R_CHECK(is_int(v) && v.get<int64_t>() >= 0 && v.get<int64_t>() < experts,
                where << ": \"rank_experts\" holds " << v.dump() << ", not an expert id 0 to "
                      << experts - 1);
      lists.back().push_back(v.get<int>());
      held[v.get<int>()] = true;
    }
  }
  const auto missing = std::find(held.begin(), held.end(), false);
  C2R_CHECK(missing == held.end(),
            where << ": \"rank_experts\" gives expert " << missing - held.begin() << " no rank");
  return lists;
}

// An entry's placement: "expert_rank" or (version 2) "rank_experts", not both; a tuning file's
// layer holds both when it replicates experts (its co-located placement and the replicated one
// that runs use).
PlacementEntry read_entry(const json& entry, int version, int experts, int ranks,
                          const std::string& where, bool tuning) {
  const bool slots = entry.contains("rank_experts");
  const bool one_rank = entry.contains("expert_rank") && !(tuning && slots);
  C2R_CHECK(!(one_rank && slots), where << ": \"expert_rank\" and \"rank_experts\" both given");
  C2R_CHECK(!slots || version >= 2,
            where << ": \"rank_experts\" (replicated experts) needs schema_version 2");
  PlacementEntry e;
  if (one_rank) e.expert_rank = read_expert_rank(entry["expert_rank"], experts, ranks, where);
  if (slots) e.rank_experts = read_rank_experts(entry["rank_experts"], experts, ranks, where);
  return e;
}

}  // namespace

PlacementFile parse_placement_file(const std::string& text, const std::string& source) {
  json doc = parse_json_text(text, source);
  const std::string schema = string_field(doc, "schema", "", source);
  C2R_CHECK(schema == "c2rbench.placement" || schema == "c2rbench.tuning",
            source << ": not a placement or tuning file (expected \"schema\": "
                   << "\"c2rbench.placement\" or \"c2rbench.tuning\")");
  C2R_CHECK(doc.contains("schema_version") && is_int(doc["schema_version"]),
            source << ": \"schema_version\" must be an integer");
  const int version = doc["schema_version"].get<int>();
  // Tuning files have a version of their own (results/tuning_file.hpp); their placements are
  // read as placement version 2.
  const int newest = schema == "c2rbench.tuning" ? 1 : kPlacementSchemaVersion;
  C2R_CHECK(version >= 1 && version <= newest,
            source << ": " << schema << " schema_version " << version
                   << " is not supported (this c2rbench reads versions 1 to " << newest << ")");
  const int placement_version = schema == "c2rbench.tuning" ? kPlacementSchemaVersion : version;
  PlacementFile file;
  file.source = source;
  C2R_CHECK(doc.contains("experts") && is_int(doc["experts"]) && doc.contains("ranks") &&
                is_int(doc["ranks"]),
            source << ": \"experts\" and \"ranks\" must be integers");
  file.experts = int_field(doc, "experts", 1, INT32_MAX, source, "a positive integer");
  file.ranks = int_field(doc, "ranks", 1, INT32_MAX, source, "a positive integer");
  if (schema == "c2rbench.tuning") {
    C2R_CHECK(doc.contains("model") && string_field(doc["model"], "preset", "", source) != "",
              source << ": a tuning file needs \"model\": {\"preset\": ...}");
    file.model = doc["model"]["preset"].get<std::string>();
  }
  const bool tuning = schema == "c2rbench.tuning";
  file.every_layer = read_entry(doc, placement_version, file.experts, file.ranks, source, tuning);
  if (doc.contains("layers")) {
    C2R_CHECK(doc["layers"].is_array(), source << ": \"layers\" must be an array");
    std::map<int, size_t> entry_of_layer;
    for (size_t i = 0; i < doc["layers"].size(); ++i) {
      const json& entry = doc["layers"][i];
      const std::string where = source + ": layers[" + std::to_string(i) + "]";
      C2R_CHECK(entry.is_object() && entry.contains("layer") && is_int(entry["layer"]) &&
                    (entry.contains("expert_rank") || entry.contains("rank_experts")),
                source << ": every \"layers\" entry needs \"layer\" and \"expert_rank\""
                       << (placement_version >= 2 ? " or \"rank_experts\"" : ""));
      const int layer = int_field(entry, "layer", 0, INT32_MAX, where, "a non-negative integer");
      // A second entry for a layer used to replace the first without a word.
      const auto [first, added] = entry_of_layer.emplace(layer, i);
      C2R_CHECK(added, where << ": layer " << layer << " is already layers[" << first->second
                             << "]; a file holds each layer once");
      file.per_layer[layer] =
          read_entry(entry, placement_version, file.experts, file.ranks, where, tuning);
    }
  }
  C2R_CHECK(!file.every_layer.empty() || !file.per_layer.empty(),
            source << ": no \"expert_rank\", no \"rank_experts\" and no \"layers\"");
  return file;
}

Placement PlacementFile::for_layer(int layer, int run_experts, int run_ranks,
                                   const std::string& run_model) const {
  C2R_CHECK(model.empty() || run_model.empty() || model == run_model,
            source << ": tuning file is for model " << model << ", the run is " << run_model);
  C2R_CHECK(ranks == run_ranks,
            source << ": placement is for " << ranks << " ranks, the run has " << run_ranks);
  C2R_CHECK(experts == run_experts, source << ": placement is for " << experts
                                           << " experts, the model has " << run_experts);
  auto it = per_layer.find(layer);
  const PlacementEntry& entry = it != per_layer.end() ? it->second : every_layer;
  C2R_CHECK(!entry.empty(), source << ": no placement for layer " << layer);
  if (!entry.rank_experts.empty()) return Placement(source, entry.rank_experts, experts);
  C2R_CHECK(static_cast<int>(entry.expert_rank.size()) == experts,
            source << ": \"expert_rank\" has " << entry.expert_rank.size() << " entries, expected "
                   << experts);
  return Placement(source, entry.expert_rank, run_ranks);
}

json placement_file_json(int experts, int ranks, const std::map<int, Placement>& layers) {
  json doc = {{"schema", "c2rbench.placement"},
              {"schema_version", kPlacementSchemaVersion},
              {"experts", experts},
              {"ranks", ranks},
              {"layers", json::array()}};
  for (const auto& [layer, placement] : layers) {
    json entry = {{"layer", layer}};
    if (placement.replicated()) {
      entry["rank_experts"] = placement.rank_experts();
    } else {
      entry["expert_rank"] = placement.expert_rank();
    }
    doc["layers"].push_back(entry);
  }
  return doc;
}

}  // namespace c2r
