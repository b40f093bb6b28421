#pragma once
// Parsers for the reference routing data in data/reference (see its README for the formats and
// their source). Parsers take the file's text so that rank 0 can read a file once and broadcast it.

#include <string>
#include <vector>

#include "model/collaboration.hpp"

namespace c2r {

// An `expert-collaboration-matrix/v1` file: one matrix per layer.
struct LayerCollaboration {
  int top_k = 0;
  std::vector<CollaborationMatrix> layers;
};

// An `expert-collaborative-list/v1` file: one list per layer.
struct LayerCollaborativeLists {
  int top_k = 0;
  std::vector<CollaborativeList> layers;
};

// Both throw c2r::Error naming `source` and what is wrong: malformed JSON, wrong format tag, wrong
// shapes, negative or asymmetric counts, a row that is not a permutation.
LayerCollaboration parse_collaboration_matrix(const std::string& text, const std::string& source);
LayerCollaborativeLists parse_collaborative_list(const std::string& text,
                                                 const std::string& source);

// File names inside the data directory.
std::string collaboration_matrix_file(const std::string& family, const std::string& routing,
                                      int top_t);
std::string collaborative_list_file(const std::string& family);

}  // namespace c2r
