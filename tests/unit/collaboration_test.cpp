// Collaboration matrices, collaborative lists, and the real reference data.
#include <gtest/gtest.h>

#include <algorithm>
#include <functional>
#include <numeric>

#include "common/error.hpp"
#include "common/file_io.hpp"
#include "common/rng.hpp"
#include "model/collaboration.hpp"
#include "model/reference_data.hpp"

namespace c2r {
namespace {

std::string reference(const std::string& file) {
  return read_text_file(std::string(C2R_TEST_DATA_DIR) + "/reference/" + file);
}

TEST(Collaboration, CoactivationCountsPairsOfEveryToken) {
  const std::vector<int32_t> ids = {0, 1, 2, 1, 0, 3, 2, 3, 1};  // 3 tokens, k = 3
  const CollaborationMatrix m = coactivation_counts(ids, 3, 4);
  EXPECT_EQ(m.at(0, 1), 2);
  EXPECT_EQ(m.at(1, 0), 2);
  EXPECT_EQ(m.at(1, 2), 2);
  EXPECT_EQ(m.at(2, 3), 1);
  EXPECT_EQ(m.at(0, 0), 0);
  EXPECT_EQ(m.total(), 3 * 3 * 2);
}

TEST(Collaboration, ListSortsRowsDescendingWithTiesToLowerIdAndSelfLast) {
  CollaborationMatrix m(4);
  auto set = [&](int i, int j, double v) { m.at(i, j) = m.at(j, i) = v; };
  set(0, 1, 5);
  set(0, 2, 9);
  set(0, 3, 5);
  set(1, 2, 1);
  const CollaborativeList list = collaborative_list_from(m);
  EXPECT_EQ(std::vector<int>(list.order.begin(), list.order.begin() + 4),
            (std::vector<int>{2, 1, 3, 0}));
  EXPECT_EQ(list.top_t(0, 2), (std::vector<int>{2, 1}));
  EXPECT_EQ(list.top_t(3, 1), (std::vector<int>{0}));
  EXPECT_THROW(list.top_t(0, 4), Error);
}

TEST(ReferenceData, LlamaVanillaShapesAndTotals) {
  const LayerCollaboration data =
      parse_collaboration_matrix(reference("llama-moe-3.5b-vanilla.json"), "vanilla");
  ASSERT_EQ(data.layers.size(), 32u);
  EXPECT_EQ(data.top_k, 2);
  for (const auto& layer : data.layers) {
    EXPECT_EQ(layer.experts, 8);
    EXPECT_DOUBLE_EQ(layer.total(), 2.0 * 204800);
  }
}

TEST(ReferenceData, EveryC2rTracePairIsValidUnderThePublishedList) {
  const LayerCollaborativeLists lists =
      parse_collaborative_list(reference("llama-moe-3.5b-collaborative-list.json"), "list");
  for (int top_t = 1; top_t <= 6; ++top_t) {
    const std::string file = "llama-moe-3.5b-c2r-topt" + std::to_string(top_t) + ".json";
    const LayerCollaboration data = parse_collaboration_matrix(reference(file), file);
    for (size_t l = 0; l < data.layers.size(); ++l) {
      for (int i = 0; i < 8; ++i) {
        for (int j = i + 1; j < 8; ++j) {
          if (data.layers[l].at(i, j) == 0) continue;
          const auto ti = lists.layers[l].top_t(i, top_t), tj = lists.layers[l].top_t(j, top_t);
          const bool valid =
              std::count(ti.begin(), ti.end(), j) || std::count(tj.begin(), tj.end(), i);
          EXPECT_TRUE(valid) << file << " layer " << l << " pair " << i << "," << j;
        }
      }
    }
  }
}

TEST(ReferenceData, QwenListIsAPermutationPerRow) {
  const LayerCollaborativeLists lists =
      parse_collaborative_list(reference("qwen1.5-moe-a2.7b-collaborative-list.json"), "qwen");
  ASSERT_EQ(lists.layers.size(), 24u);
  EXPECT_EQ(lists.layers[0].experts, 60);
  EXPECT_EQ(lists.top_k, 4);
}

void expect_error_mentions(const std::function<void()>& parse, const std::string& needle) {
  try {
    parse();
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
  }
}

TEST(ReferenceData, BadFilesAreRejectedNamingTheSource) {
  const std::string text = reference("llama-moe-3.5b-vanilla.json");
  expect_error_mentions(
      [&] { parse_collaboration_matrix(text.substr(0, text.size() / 2), "half.json"); },
      "half.json: malformed JSON");
  expect_error_mentions([&] { parse_collaboration_matrix("{not json", "bad.json"); }, "bad.json");
  expect_error_mentions(
      [&] {
        parse_collaboration_matrix(reference("llama-moe-3.5b-collaborative-list.json"), "l.json");
      },
      "format");
  expect_error_mentions(
      [&] {
        parse_collaboration_matrix(
            R"({"format":"expert-collaboration-matrix/v1","num_layers":1,"num_experts":2,"top_k":2,
                "counts":[[[0,3],[2,0]]]})",
            "asym.json");
      },
      "not symmetric");
  expect_error_mentions(
      [&] {
        parse_collaborative_list(
            R"({"format":"expert-collaborative-list/v1","num_layers":1,"num_experts":2,"top_k":2,
                "order":[[[1,1],[0,1]]]})",
            "perm.json");
      },
      "not a permutation");
}

TEST(Collaboration, CoactivationCountsOfRandomRoutingAgainstPairCounting) {
  const int experts = 12, k = 3;
  const int64_t tokens = 500;
  Rng rng(31, Stream::kRouter, 0);
  std::vector<int32_t> ids;
  for (int64_t t = 0; t < tokens; ++t) {
    std::vector<int> all(experts);
    std::iota(all.begin(), all.end(), 0);
    for (int j = 0; j < k; ++j) {  // k distinct experts
      std::swap(all[j], all[j + rng.below(experts - j)]);
      ids.push_back(all[j]);
    }
  }
  const CollaborationMatrix m = coactivation_counts(ids, k, experts);
  EXPECT_DOUBLE_EQ(m.total(), static_cast<double>(tokens * k * (k - 1)));
  for (int i = 0; i < experts; ++i) {
    EXPECT_EQ(m.at(i, i), 0.0);
    for (int j = 0; j < experts; ++j) {
      EXPECT_EQ(m.at(i, j), m.at(j, i));
      if (i == j) continue;
      int both = 0;
      for (int64_t t = 0; t < tokens; ++t) {
        const auto first = ids.begin() + t * k, last = first + k;
        both += std::count(first, last, i) && std::count(first, last, j);
      }
      EXPECT_EQ(m.at(i, j), both) << i << "," << j;
    }
  }
}

TEST(Collaboration, ListOfARandomMatrixWithTies) {
  const int experts = 10;
  CollaborationMatrix m(experts);
  Rng rng(32, Stream::kRouter, 0);
  for (int i = 0; i < experts; ++i) {
    for (int j = 0; j < i; ++j) m.at(i, j) = m.at(j, i) = static_cast<double>(rng.below(4));
  }
  const CollaborativeList list = collaborative_list_from(m);
  ASSERT_EQ(list.experts, experts);
  ASSERT_EQ(list.order.size(), static_cast<size_t>(experts * experts));
  int ties = 0;
  for (int i = 0; i < experts; ++i) {
    const int* row = &list.order[i * experts];
    std::vector<int> sorted(row, row + experts);
    std::sort(sorted.begin(), sorted.end());
    std::vector<int> identity(experts);
    std::iota(identity.begin(), identity.end(), 0);
    EXPECT_EQ(sorted, identity) << "row " << i << " is not a permutation";
    EXPECT_EQ(row[experts - 1], i) << "self not last in row " << i;
    for (int p = 0; p + 2 < experts; ++p) {
      const double a = m.at(i, row[p]), b = m.at(i, row[p + 1]);
      EXPECT_GE(a, b) << "row " << i << " position " << p;
      if (a == b) {
        ++ties;
        EXPECT_LT(row[p], row[p + 1]) << "tie not broken towards the lower id, row " << i;
      }
    }
    for (int t = 0; t <= experts - 1; ++t) {
      EXPECT_EQ(list.top_t(i, t), std::vector<int>(row, row + t));
    }
  }
  EXPECT_GT(ties, 10);  // the matrix has only 4 distinct values, so the tie rule is exercised
}

TEST(Collaboration, TopTSkipsTheExpertWhereverItSits) {
  CollaborativeList list;
  list.experts = 4;
  list.order = {1, 0, 2, 3,  // expert 0 in the middle of its own row
                1, 0, 2, 3, 2, 1, 0, 3, 3, 0, 1, 2};
  EXPECT_EQ(list.top_t(0, 3), (std::vector<int>{1, 2, 3}));
  EXPECT_EQ(list.top_t(1, 2), (std::vector<int>{0, 2}));
  EXPECT_EQ(list.top_t(3, 3), (std::vector<int>{0, 1, 2}));
  EXPECT_TRUE(list.top_t(2, 0).empty());
  EXPECT_THROW(list.top_t(2, -1), Error);
  EXPECT_THROW(list.top_t(2, 4), Error);
}

TEST(ReferenceData, EveryLlamaFileHasThePublishedShape) {
  for (int top_t = 1; top_t <= 6; ++top_t) {
    const std::string file = "llama-moe-3.5b-c2r-topt" + std::to_string(top_t) + ".json";
    const LayerCollaboration data = parse_collaboration_matrix(reference(file), file);
    ASSERT_EQ(data.layers.size(), 32u) << file;
    EXPECT_EQ(data.top_k, 2);
    for (size_t l = 0; l < data.layers.size(); ++l) {
      EXPECT_EQ(data.layers[l].experts, 8);
      EXPECT_DOUBLE_EQ(data.layers[l].total(), 2.0 * 204800) << file << " layer " << l;
    }
  }
  const LayerCollaborativeLists lists =
      parse_collaborative_list(reference("llama-moe-3.5b-collaborative-list.json"), "list");
  ASSERT_EQ(lists.layers.size(), 32u);
  EXPECT_EQ(lists.top_k, 2);
  for (const auto& list : lists.layers) {
    ASSERT_EQ(list.experts, 8);
    for (int i = 0; i < 8; ++i) EXPECT_EQ(list.order[i * 8 + 7], i);  // i itself last
  }
}

TEST(ReferenceData, VanillaLlamaRoutingIsNotC2rConstrained) {
  // Sanity check that the validity test above can fail: vanilla routing uses pairs outside Top-1.
  const LayerCollaborativeLists lists =
      parse_collaborative_list(reference("llama-moe-3.5b-collaborative-list.json"), "list");
  const LayerCollaboration vanilla =
      parse_collaboration_matrix(reference("llama-moe-3.5b-vanilla.json"), "vanilla");
  int invalid = 0;
  for (size_t l = 0; l < vanilla.layers.size(); ++l) {
    for (int i = 0; i < 8; ++i) {
      for (int j = i + 1; j < 8; ++j) {
        if (vanilla.layers[l].at(i, j) == 0) continue;
        invalid += lists.layers[l].top_t(i, 1)[0] != j && lists.layers[l].top_t(j, 1)[0] != i;
      }
    }
  }
  EXPECT_GT(invalid, 0);
}

const char* kMatrixHeader =
    R"("format":"expert-collaboration-matrix/v1","num_layers":1,"num_experts":2,"top_k":2)";

TEST(ReferenceData, EveryParseErrorNamesTheSource) {
  const std::string text = reference("llama-moe-3.5b-collaborative-list.json");
  const std::vector<std::pair<std::string, std::function<void()>>> cases = {
      {"cut.json", [&] { parse_collaborative_list(text.substr(0, text.size() / 2), "cut.json"); }},
      {"garbage.json", [&] { parse_collaborative_list("[1, 2,, 3]", "garbage.json"); }},
      {"empty.json", [&] { parse_collaboration_matrix("", "empty.json"); }},
      {"tag.json",
       [&] { parse_collaborative_list(reference("llama-moe-3.5b-vanilla.json"), "tag.json"); }},
      {"notag.json",
       [&] { parse_collaboration_matrix(R"({"num_layers":1,"counts":[]})", "notag.json"); }},
      {"asym.json",
       [&] {
         parse_collaboration_matrix(
             std::string("{") + kMatrixHeader + R"(,"counts":[[[0,3],[2,0]]]})", "asym.json");
       }},
      {"diag.json",
       [&] {
         parse_collaboration_matrix(
             std::string("{") + kMatrixHeader + R"(,"counts":[[[1,3],[3,0]]]})", "diag.json");
       }},
      {"neg.json",
       [&] {
         parse_collaboration_matrix(
             std::string("{") + kMatrixHeader + R"(,"counts":[[[0,-3],[-3,0]]]})", "neg.json");
       }},
      {"shape.json",
       [&] {
         parse_collaboration_matrix(
             std::string("{") + kMatrixHeader + R"(,"counts":[[[0,3,1],[3,0,1]]]})", "shape.json");
       }},
      {"layers.json",
       [&] {
         parse_collaboration_matrix(
             std::string("{") + kMatrixHeader + R"(,"counts":[[[0,3],[3,0]],[[0,3],[3,0]]]})",
             "layers.json");
       }},
      {"range.json",
       [&] {
         parse_collaborative_list(
             R"({"format":"expert-collaborative-list/v1","num_layers":1,"num_experts":2,
                 "top_k":2,"order":[[[1,0],[0,2]]]})",
             "range.json");
       }},
      {"dup.json",
       [&] {
         parse_collaborative_list(
             R"({"format":"expert-collaborative-list/v1","num_layers":1,"num_experts":3,
                 "top_k":2,"order":[[[1,2,0],[0,2,1],[0,0,2]]]})",
             "dup.json");
       }},
  };
  for (const auto& [source, parse] : cases) {
    try {
      parse();
      ADD_FAILURE() << source << " was accepted";
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find(source), std::string::npos) << e.what();
    }
  }
  // The same documents, fixed, are accepted.
  EXPECT_NO_THROW(parse_collaboration_matrix(
      std::string("{") + kMatrixHeader + R"(,"counts":[[[0,3],[3,0]]]})", "ok.json"));
}

}  // namespace
}  // namespace c2r
