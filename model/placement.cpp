#include "model/placement.hpp"

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
    C2R_CHECK(static_cast<int>(local_experts_[r].size()) == experts / ranks,
              "placement '" << name_ << "' gives rank " << r << " " << local_experts_[r].size()
                            << " experts; a balanced placement gives every rank "
                            << experts / ranks);
  }
}

double Placement::internal_collaboration(const CollaborationMatrix& matrix) const {
  double inside = 0.0;
  for (int i = 0; i < experts(); ++i) {
    for (int j = i + 1; j < experts(); ++j) {
      if (expert_rank_[i] == expert_rank_[j]) inside += matrix.at(i, j);
    }
  }
  return inside;
}

bool is_builtin_placement(const std::string& name) {
  return name == "contiguous" || name == "round-robin" || name == "collab";
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

}  // namespace

PlacementFile parse_placement_file(const std::string& text, const std::string& source) {
  json doc = parse_json_text(text, source);
  const std::string schema = string_field(doc, "schema", "", source);
  C2R_CHECK(schema == "c2rbench.placement" || schema == "c2rbench.tuning",
            source << ": not a placement or tuning file (expected \"schema\": "
                   << "\"c2rbench.placement\" or \"c2rbench.tuning\")");
  C2R_CHECK(doc.contains("schema_version") && is_int(doc["schema_version"]),
            source << ": \"schema_version\" must be an integer");
  C2R_CHECK(doc["schema_version"].get<int>() == 1,
            source << ": " << schema << " schema_version " << doc["schema_version"].get<int>()
                   << " is not supported (this c2rbench reads version 1)");
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
  if (doc.contains("expert_rank")) {
    file.every_layer = read_expert_rank(doc["expert_rank"], file.experts, file.ranks, source);
  }
  if (doc.contains("layers")) {
    C2R_CHECK(doc["layers"].is_array(), source << ": \"layers\" must be an array");
    std::map<int, size_t> entry_of_layer;
    for (size_t i = 0; i < doc["layers"].size(); ++i) {
      const json& entry = doc["layers"][i];
      const std::string where = source + ": layers[" + std::to_string(i) + "]";
      C2R_CHECK(entry.is_object() && entry.contains("layer") && is_int(entry["layer"]) &&
                    entry.contains("expert_rank"),
                source << ": every \"layers\" entry needs \"layer\" and \"expert_rank\"");
      const int layer = int_field(entry, "layer", 0, INT32_MAX, where, "a non-negative integer");
      // A second entry for a layer used to replace the first without a word.
      const auto [first, added] = entry_of_layer.emplace(layer, i);
      C2R_CHECK(added, where << ": layer " << layer << " is already layers[" << first->second
                             << "]; a file holds each layer once");
      file.per_layer[layer] =
          read_expert_rank(entry["expert_rank"], file.experts, file.ranks, where);
    }
  }
  C2R_CHECK(!file.every_layer.empty() || !file.per_layer.empty(),
            source << ": no \"expert_rank\" and no \"layers\"");
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
  const std::vector<int>* owner = it != per_layer.end() ? &it->second : &every_layer;
  C2R_CHECK(!owner->empty(), source << ": no placement for layer " << layer);
  C2R_CHECK(static_cast<int>(owner->size()) == experts, source << ": \"expert_rank\" has "
                                                               << owner->size()
                                                               << " entries, expected " << experts);
  return Placement(source, *owner, run_ranks);
}

json placement_file_json(int experts, int ranks, const std::map<int, Placement>& layers) {
  json doc = {{"schema", "c2rbench.placement"},
              {"schema_version", 1},
              {"experts", experts},
              {"ranks", ranks},
              {"layers", json::array()}};
  for (const auto& [layer, placement] : layers) {
    doc["layers"].push_back({{"layer", layer}, {"expert_rank", placement.expert_rank()}});
  }
  return doc;
}

}  // namespace c2r
