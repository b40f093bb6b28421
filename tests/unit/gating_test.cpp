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

}  // namespace
}  // namespace c2r
