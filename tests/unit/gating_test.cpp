// Gate kernels: top-k and C2R selection, gate weights, router GEMM.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <numeric>

#include "common/error.hpp"
#include "common/rng.hpp"
#include "kernels/cpu/gating.hpp"

namespace c2r {
namespace {

std::vector<float> random_logits(int64_t tokens, int experts, uint64_t seed) {
  std::vector<float> logits(tokens * experts);
  Rng rng(seed, Stream::kHidden, 0);
  for (auto& v : logits) v = static_cast<float>(rng.normal());
  return logits;
}

CollaborativeList random_list(int experts, uint64_t seed) {
  CollaborationMatrix m(experts);
  Rng rng(seed, Stream::kRouter, 0);
  for (int i = 0; i < experts; ++i) {
    for (int j = 0; j < i; ++j) m.at(i, j) = m.at(j, i) = std::floor(rng.uniform() * 100);
  }
  return collaborative_list_from(m);
}

TEST(Gating, VanillaPicksLargestLogitsInDescendingOrder) {
  const int experts = 8, k = 3;
  const std::vector<float> logits = {0.1f, 2.0f, -1.0f, 3.0f, 0.5f, 2.5f, -2.0f, 0.0f};
  std::vector<int32_t> ids(k);
  std::vector<float> weights(k);
  select_experts(logits.data(), 1, GateSpec::vanilla(experts, k, GateWeights::kSoftmaxOverChosen),
                 ids.data(), weights.data());
  EXPECT_EQ(ids, (std::vector<int32_t>{3, 5, 1}));
}

TEST(Gating, TiesGoToTheLowerExpertId) {
  const std::vector<float> logits = {1.0f, 2.0f, 2.0f, 0.0f, 2.0f, 1.0f};
  std::vector<int32_t> ids(2);
  std::vector<float> weights(2);
  select_experts(logits.data(), 1, GateSpec::vanilla(6, 2, GateWeights::kSoftmaxOverChosen),
                 ids.data(), weights.data());
  EXPECT_EQ(ids, (std::vector<int32_t>{1, 2}));
  // C2R: e1 is the lowest-id maximum; among equal partners the lower id wins too.
  CollaborativeList list;
  list.experts = 6;
  list.order = {1, 2, 3, 4, 5, 0, 4, 2, 0, 3, 5, 1, 0, 1, 3, 4, 5, 2,
                0, 1, 2, 4, 5, 3, 0, 1, 2, 3, 5, 4, 0, 1, 2, 3, 4, 5};
  select_experts(logits.data(), 1, GateSpec::c2r(6, 2, 2, GateWeights::kSoftmaxOverChosen, list),
                 ids.data(), weights.data());
  EXPECT_EQ(ids, (std::vector<int32_t>{1, 2}));  // Top-2(1) = {4, 2}: both 2.0, lower id 2 wins
}

TEST(Gating, C2rTopOneForcesTheMostFrequentPartner) {
  const int experts = 8, k = 2;
  const CollaborativeList list = random_list(experts, 3);
  const int64_t tokens = 500;
  const auto logits = random_logits(tokens, experts, 4);
  std::vector<int32_t> ids(tokens * k);
  std::vector<float> weights(tokens * k);
  select_experts(logits.data(), tokens,
                 GateSpec::c2r(experts, k, 1, GateWeights::kSoftmaxOverChosen, list), ids.data(),
                 weights.data());
  for (int64_t t = 0; t < tokens; ++t) {
    const float* l = &logits[t * experts];
    EXPECT_EQ(ids[t * k], std::max_element(l, l + experts) - l);
    EXPECT_EQ(ids[t * k + 1], list.top_t(ids[t * k], 1)[0]);
  }
}

TEST(Gating, C2rWithAllOtherExpertsEqualsVanilla) {
  for (auto [experts, k] : {std::pair{8, 2}, std::pair{16, 3}, std::pair{60, 4}}) {
    const CollaborativeList list = random_list(experts, 5);
    const int64_t tokens = 400;
    const auto logits = random_logits(tokens, experts, 6);
    std::vector<int32_t> vanilla_ids(tokens * k), c2r_ids(tokens * k);
    std::vector<float> vanilla_w(tokens * k), c2r_w(tokens * k);
    select_experts(logits.data(), tokens, GateSpec::vanilla(experts, k, GateWeights::kFullSoftmax),
                   vanilla_ids.data(), vanilla_w.data());
    select_experts(logits.data(), tokens,
                   GateSpec::c2r(experts, k, experts - 1, GateWeights::kFullSoftmax, list),
                   c2r_ids.data(), c2r_w.data());
    EXPECT_EQ(vanilla_ids, c2r_ids) << "E=" << experts << " k=" << k;
    EXPECT_EQ(vanilla_w, c2r_w);
  }
}

TEST(Gating, C2rRejectsTopTOutOfRange) {
  const CollaborativeList list = random_list(8, 7);
  EXPECT_THROW(GateSpec::c2r(8, 3, 1, GateWeights::kSoftmaxOverChosen, list), Error);
  EXPECT_THROW(GateSpec::c2r(8, 2, 8, GateWeights::kSoftmaxOverChosen, list), Error);
  EXPECT_NO_THROW(GateSpec::c2r(8, 3, 2, GateWeights::kSoftmaxOverChosen, list));
}

TEST(Gating, GateWeightModes) {
  const std::vector<float> logits = {1.0f, 3.0f, 2.0f, 0.0f};
  std::vector<int32_t> ids(2);
  std::vector<float> w(2);
  select_experts(logits.data(), 1, GateSpec::vanilla(4, 2, GateWeights::kSoftmaxOverChosen),
                 ids.data(), w.data());
  EXPECT_NEAR(w[0], std::exp(3.0) / (std::exp(3.0) + std::exp(2.0)), 1e-6);
  EXPECT_NEAR(w[0] + w[1], 1.0, 1e-6);
  select_experts(logits.data(), 1, GateSpec::vanilla(4, 2, GateWeights::kFullSoftmax), ids.data(),
                 w.data());
  const double z = std::exp(1.0) + std::exp(3.0) + std::exp(2.0) + std::exp(0.0);
  EXPECT_NEAR(w[0], std::exp(3.0) / z, 1e-6);
  EXPECT_NEAR(w[1], std::exp(2.0) / z, 1e-6);
}

TEST(Gating, RouterLogitsMatchNaiveProduct) {
  const int64_t tokens = 37;
  const int hidden = 53, experts = 7;
  const auto x = random_logits(tokens, hidden, 8);
  const auto w = random_logits(hidden, experts, 9);
  std::vector<float> logits(tokens * experts);
  router_logits(x.data(), tokens, hidden, w.data(), experts, logits.data());
  for (int64_t t = 0; t < tokens; ++t) {
    for (int e = 0; e < experts; ++e) {
      double expected = 0;
      for (int h = 0; h < hidden; ++h) expected += x[t * hidden + h] * w[h * experts + e];
      EXPECT_NEAR(logits[t * experts + e], expected, 1e-4);
    }
  }
}

// Reference selection with a full sort: descending logit, ties to the lower id.
std::vector<int32_t> sorted_top(const float* logit, const std::vector<int>& candidates, int count) {
  std::vector<int> c = candidates;
  std::stable_sort(c.begin(), c.end(), [&](int a, int b) {
    return logit[a] > logit[b] || (logit[a] == logit[b] && a < b);
  });
  return std::vector<int32_t>(c.begin(), c.begin() + count);
}

// Logits rounded to a coarse grid so that many tokens have ties.
std::vector<float> tied_logits(int64_t tokens, int experts, uint64_t seed) {
  std::vector<float> logits = random_logits(tokens, experts, seed);
  for (auto& v : logits) v = std::round(v * 2.0f) / 2.0f;
  return logits;
}

TEST(Gating, VanillaMatchesAFullSortOnTiedRandomLogits) {
  for (auto [experts, k] :
       {std::pair{8, 2}, std::pair{8, 1}, std::pair{60, 4}, std::pair{16, 16}}) {
    const int64_t tokens = 300;
    const auto logits = tied_logits(tokens, experts, 21);
    std::vector<int32_t> ids(tokens * k);
    std::vector<float> w(tokens * k);
    select_experts(logits.data(), tokens,
                   GateSpec::vanilla(experts, k, GateWeights::kSoftmaxOverChosen), ids.data(),
                   w.data());
    std::vector<int> all(experts);
    std::iota(all.begin(), all.end(), 0);
    for (int64_t t = 0; t < tokens; ++t) {
      const std::vector<int32_t> got(ids.begin() + t * k, ids.begin() + (t + 1) * k);
      ASSERT_EQ(got, sorted_top(&logits[t * experts], all, k))
          << "E=" << experts << " k=" << k << " token " << t;
    }
  }
}

TEST(Gating, C2rMatchesTheDefinitionForEveryTopT) {
  // e1 = argmax (lowest id on ties), then the k-1 best of Top-T(e1), descending.
  for (auto [experts, k] : {std::pair{8, 2}, std::pair{8, 3}, std::pair{60, 4}}) {
    const CollaborativeList list = random_list(experts, 22);
    const int64_t tokens = 200;
    const auto logits = tied_logits(tokens, experts, 23);
    std::vector<int> all(experts);
    std::iota(all.begin(), all.end(), 0);
    for (int top_t : {k - 1, k, experts / 2, experts - 1}) {
      std::vector<int32_t> ids(tokens * k);
      std::vector<float> w(tokens * k);
      select_experts(logits.data(), tokens,
                     GateSpec::c2r(experts, k, top_t, GateWeights::kSoftmaxOverChosen, list),
                     ids.data(), w.data());
      for (int64_t t = 0; t < tokens; ++t) {
        const float* l = &logits[t * experts];
        const int32_t e1 = sorted_top(l, all, 1)[0];
        std::vector<int32_t> expected = {e1};
        const auto partners = sorted_top(l, list.top_t(e1, top_t), k - 1);
        expected.insert(expected.end(), partners.begin(), partners.end());
        const std::vector<int32_t> got(ids.begin() + t * k, ids.begin() + (t + 1) * k);
        ASSERT_EQ(got, expected) << "E=" << experts << " k=" << k << " T=" << top_t << " token "
                                 << t;
      }
    }
  }
}

TEST(Gating, C2rTopOneWithThePublishedListPairsEveryExpertWithItsFirstCollaborator) {
  // order[l][i][0] of the published LLaMA-MoE list, layer 0 (data/reference).
  CollaborativeList list;
  list.experts = 8;
  list.order = {3, 1, 6, 5, 7, 2, 4, 0, 3, 6, 7, 0, 4, 5, 2, 1, 4, 7, 6, 1, 5, 3, 0, 2};
  // Rows 3..7: any permutation with the expert last; only row order matters for e1 in 0..2.
  for (int i = 3; i < 8; ++i) {
    for (int j = 0; j < 8; ++j) {
      if (j != i) list.order.push_back(j);
    }
    list.order.push_back(i);
  }
  const GateSpec gate = GateSpec::c2r(8, 2, 1, GateWeights::kSoftmaxOverChosen, list);
  EXPECT_EQ(gate.top_t_table.size(), 8u);
  // Expert 0 leads, expert 3 is its Top-1 although it has the lowest logit.
  const std::vector<float> logits = {5.0f, 4.0f, 3.0f, -9.0f, 2.0f,  1.0f, 0.5f, 0.0f,   // e1 = 0
                                     0.0f, 9.0f, 3.0f, 2.0f,  1.0f,  0.5f, 8.0f, -1.0f,  // e1 = 1
                                     0.0f, 1.0f, 9.0f, 2.0f,  -3.0f, 8.5f, 8.0f, 7.0f};  // e1 = 2
  std::vector<int32_t> ids(6);
  std::vector<float> w(6);
  select_experts(logits.data(), 3, gate, ids.data(), w.data());
  EXPECT_EQ(ids, (std::vector<int32_t>{0, 3, 1, 3, 2, 4}));
  // Softmax over the two chosen logits.
  EXPECT_NEAR(w[0], 1.0 / (1.0 + std::exp(-14.0)), 1e-6);
  EXPECT_NEAR(w[1], std::exp(-14.0) / (1.0 + std::exp(-14.0)), 1e-6);
  EXPECT_NEAR(w[4], 1.0 / (1.0 + std::exp(-12.0)), 1e-6);
}

TEST(Gating, C2rTopTRangeForQwenShapes) {
  const CollaborativeList list = random_list(60, 24);
  EXPECT_THROW(GateSpec::c2r(60, 4, 2, GateWeights::kFullSoftmax, list), Error);   // T < k-1
  EXPECT_THROW(GateSpec::c2r(60, 4, 60, GateWeights::kFullSoftmax, list), Error);  // T > E-1
  EXPECT_THROW(GateSpec::c2r(60, 4, -1, GateWeights::kFullSoftmax, list), Error);
  const GateSpec low = GateSpec::c2r(60, 4, 3, GateWeights::kFullSoftmax, list);
  EXPECT_EQ(low.top_t_table.size(), 60u * 3);
  EXPECT_EQ(GateSpec::c2r(60, 4, 59, GateWeights::kFullSoftmax, list).top_t_table.size(), 60u * 59);
  try {
    GateSpec::c2r(8, 2, 8, GateWeights::kSoftmaxOverChosen, random_list(8, 25));
    FAIL() << "T = E accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("Top-T 8"), std::string::npos) << e.what();
  }
  // A list for another expert count does not fit the model.
  EXPECT_THROW(GateSpec::c2r(8, 2, 1, GateWeights::kSoftmaxOverChosen, list), Error);
}

TEST(Gating, GateWeightsOnRandomTokensAgainstAHandSoftmax) {
  const int experts = 60, k = 4;
  const int64_t tokens = 100;
  const auto logits = random_logits(tokens, experts, 26);
  const CollaborativeList list = random_list(experts, 27);
  for (bool c2r : {false, true}) {
    for (GateWeights mode : {GateWeights::kSoftmaxOverChosen, GateWeights::kFullSoftmax}) {
      const GateSpec gate =
          c2r ? GateSpec::c2r(experts, k, 5, mode, list) : GateSpec::vanilla(experts, k, mode);
      std::vector<int32_t> ids(tokens * k);
      std::vector<float> w(tokens * k);
      select_experts(logits.data(), tokens, gate, ids.data(), w.data());
      for (int64_t t = 0; t < tokens; ++t) {
        const float* l = &logits[t * experts];
        double full = 0, chosen = 0, sum = 0;
        for (int e = 0; e < experts; ++e) full += std::exp(static_cast<double>(l[e]));
        for (int j = 0; j < k; ++j) chosen += std::exp(static_cast<double>(l[ids[t * k + j]]));
        for (int j = 0; j < k; ++j) {
          const double p = std::exp(static_cast<double>(l[ids[t * k + j]]));
          const double expected = p / (mode == GateWeights::kFullSoftmax ? full : chosen);
          EXPECT_NEAR(w[t * k + j], expected, 1e-5) << "token " << t << " slot " << j;
          if (j > 0) EXPECT_LE(w[t * k + j], w[t * k + j - 1]);  // descending logits
          sum += w[t * k + j];
        }
        if (mode == GateWeights::kSoftmaxOverChosen) {
          EXPECT_NEAR(sum, 1.0, 1e-5);
        } else {
          EXPECT_NEAR(sum, chosen / full, 1e-5);
          EXPECT_LT(sum, 1.0);
        }
      }
    }
  }
}

TEST(Gating, RouterLogitsMatchNaiveProductOnWiderShapes) {
  const int64_t tokens = 65;
  const int hidden = 96, experts = 60;
  const auto x = random_logits(tokens, hidden, 28);
  const auto w = random_logits(hidden, experts, 29);
  std::vector<float> logits(tokens * experts, 123.0f);
  router_logits(x.data(), tokens, hidden, w.data(), experts, logits.data());
  double worst = 0;
  for (int64_t t = 0; t < tokens; ++t) {
    for (int e = 0; e < experts; ++e) {
      double expected = 0;
      for (int h = 0; h < hidden; ++h) {
        expected += static_cast<double>(x[t * hidden + h]) * w[h * experts + e];
      }
      worst = std::max(worst, std::fabs(logits[t * experts + e] - expected));
    }
  }
  EXPECT_LT(worst, 1e-3);
}

}  // namespace
}  // namespace c2r
