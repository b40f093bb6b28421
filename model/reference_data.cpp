#include "model/reference_data.hpp"

#include <nlohmann/json.hpp>

#include "common/error.hpp"
#include "common/json_fields.hpp"
#include "common/json_text.hpp"

namespace c2r {

namespace {

using nlohmann::json;

void expect_format(const json& doc, const std::string& format, const std::string& source) {
  C2R_CHECK(doc.is_object(), source << ": expected a JSON object");
  C2R_CHECK(doc.contains("format") && doc["format"].is_string(),
            source << ": missing \"format\" (expected \"" << format << "\")");
  C2R_CHECK(doc["format"].get<std::string>() == format,
            source << ": format is \"" << doc["format"].get<std::string>() << "\", expected \""
                   << format << "\"");
}

int positive_int(const json& doc, const char* key, const std::string& source) {
  return int_field(doc, key, 1, INT32_MAX, source, "a positive integer");
}

// Checks doc[key] is an array of `layers` square `experts` x `experts` arrays of numbers.
const json& layer_cube(const json& doc, const char* key, int layers, int experts,
                       const std::string& source) {
  C2R_CHECK(doc.contains(key) && doc[key].is_array(),
            source << ": missing array \"" << key << "\"");
  const json& cube = doc[key];
  C2R_CHECK(
      static_cast<int>(cube.size()) == layers,
      source << ": \"" << key << "\" has " << cube.size() << " layers, num_layers says " << layers);
  for (int l = 0; l < layers; ++l) {
    C2R_CHECK(cube[l].is_array() && static_cast<int>(cube[l].size()) == experts,
              source << ": " << key << "[" << l << "] must have " << experts << " rows");
    for (int i = 0; i < experts; ++i) {
      const json& row = cube[l][i];
      C2R_CHECK(row.is_array() && static_cast<int>(row.size()) == experts,
                source << ": " << key << "[" << l << "][" << i << "] must have " << experts
                       << " entries");
      for (const auto& value : row) {
        C2R_CHECK(value.is_number(),
                  source << ": " << key << "[" << l << "][" << i << "] holds a non-number");
      }
    }
  }
  return cube;
}

}  // namespace

LayerCollaboration parse_collaboration_matrix(const std::string& text, const std::string& source) {
  json doc = parse_json_text(text, source);
  expect_format(doc, "expert-collaboration-matrix/v1", source);
  const int layers = positive_int(doc, "num_layers", source);
  const int experts = positive_int(doc, "num_experts", source);
  LayerCollaboration out;
  out.top_k = positive_int(doc, "top_k", source);
  const json& cube = layer_cube(doc, "counts", layers, experts, source);
  for (int l = 0; l < layers; ++l) {
    CollaborationMatrix m(experts);
    for (int i = 0; i < experts; ++i) {
      for (int j = 0; j < experts; ++j) {
        double v = cube[l][i][j].get<double>();
        C2R_CHECK(v >= 0.0,
                  source << ": counts[" << l << "][" << i << "][" << j << "] is negative");
        m.at(i, j) = v;
      }
    }
    for (int i = 0; i < experts; ++i) {
      C2R_CHECK(m.at(i, i) == 0.0, source << ": counts[" << l << "] has a non-zero diagonal");
      for (int j = 0; j < i; ++j) {
        C2R_CHECK(m.at(i, j) == m.at(j, i),
                  source << ": counts[" << l << "] is not symmetric at (" << i << ", " << j << ")");
      }
    }
    C2R_CHECK(m.total() > 0.0, source << ": counts[" << l << "] is all zero");
    out.layers.push_back(std::move(m));
  }
  return out;
}

LayerCollaborativeLists parse_collaborative_list(const std::string& text,
                                                 const std::string& source) {
  json doc = parse_json_text(text, source);
  expect_format(doc, "expert-collaborative-list/v1", source);
  const int layers = positive_int(doc, "num_layers", source);
  const int experts = positive_int(doc, "num_experts", source);
  LayerCollaborativeLists out;
  out.top_k = positive_int(doc, "top_k", source);
  const json& cube = layer_cube(doc, "order", layers, experts, source);
  for (int l = 0; l < layers; ++l) {
    CollaborativeList list;
    list.experts = experts;
    list.order.reserve(static_cast<size_t>(experts) * experts);
    for (int i = 0; i < experts; ++i) {
      std::vector<bool> seen(experts, false);
      for (int j = 0; j < experts; ++j) {
        const json& v = cube[l][i][j];
        C2R_CHECK(is_integer_in(v, 0, experts - 1) && !seen[v.get<int>()],
                  source << ": order[" << l << "][" << i << "] is not a permutation of 0.."
                         << experts - 1);
        seen[v.get<int>()] = true;
        list.order.push_back(v.get<int>());
      }
    }
    out.layers.push_back(std::move(list));
  }
  return out;
}

std::string collaboration_matrix_file(const std::string& family, const std::string& routing,
                                      int top_t) {
  if (routing == "vanilla") return family + "-vanilla.json";
  return family + "-c2r-topt" + std::to_string(top_t) + ".json";
}

std::string collaborative_list_file(const std::string& family) {
  return family + "-collaborative-list.json";
}

}  // namespace c2r
