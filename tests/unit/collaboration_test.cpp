// Collaboration matrices, collaborative lists, and the real reference data.
#include <gtest/gtest.h>

#include <algorithm>

#include "common/error.hpp"
#include "common/file_io.hpp"
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

}  // namespace
}  // namespace c2r
