// Expert FFN against naive loops, permute helpers, and padded capacity.
#include <gtest/gtest.h>

#include <cmath>

#include "collectives/strategy.hpp"
#include "common/rng.hpp"
#include "kernels/cpu/expert_ffn.hpp"
#include "kernels/cpu/permute.hpp"

namespace c2r {
namespace {

std::vector<float> normals(size_t n, uint64_t seed) {
  std::vector<float> v(n);
  Rng rng(seed, Stream::kHidden, 0);
  for (auto& x : v) x = static_cast<float>(rng.normal());
  return v;
}

double relative_error(const float* a, const float* b, size_t n) {
  double diff = 0, norm = 0;
  for (size_t i = 0; i < n; ++i) {
    diff += (a[i] - b[i]) * (a[i] - b[i]);
    norm += b[i] * b[i];
  }
  return std::sqrt(diff / norm);
}

TEST(ExpertFfn, GroupedBlocksWithStridesMatchNaiveLoops) {
  const int hidden = 48, ffn = 40;
  const FfnWeights w0 = make_ffn_weights(1, Stream::kExpert, 0, hidden, ffn);
  const FfnWeights w1 = make_ffn_weights(1, Stream::kExpert, 1, hidden, ffn);
  const int64_t ld = hidden + 5;  // rows padded like the dedup buffer
  const auto x = normals(30 * ld, 2);
  std::vector<float> out(30 * ld, 0.0f), scratch(ffn_scratch_floats(ffn));
  std::vector<ExpertGroup> groups = {
      {&w0,
       {RowBlock{&x[0], ld, &out[0], ld, 7}, RowBlock{&x[20 * ld], ld, &out[20 * ld], ld, 10}}},
      {&w1, {RowBlock{&x[7 * ld], ld, &out[7 * ld], ld, 13}}}};
  grouped_swiglu_ffn(groups, scratch.data());
  std::vector<float> row(hidden), expected(hidden);
  for (int64_t r = 0; r < 30; ++r) {
    std::copy_n(&x[r * ld], hidden, row.data());
    swiglu_ffn_naive(r >= 7 && r < 20 ? w1 : w0, row.data(), 1, expected.data());
    EXPECT_LT(relative_error(&out[r * ld], expected.data(), hidden), 1e-5) << "row " << r;
  }
}

TEST(Permute, StableBucketOrderKeepsItemOrderInsideBuckets) {
  const std::vector<int32_t> keys = {2, 0, 2, 1, 0, 2};
  std::vector<int64_t> offsets(4), order(6);
  stable_bucket_order(keys.data(), 6, 3, offsets.data(), order.data());
  EXPECT_EQ(offsets, (std::vector<int64_t>{0, 2, 3, 6}));
  EXPECT_EQ(order, (std::vector<int64_t>{1, 4, 3, 0, 2, 5}));
}

TEST(Permute, GatherAndWeightedUnpermute) {
  const int width = 3;
  const std::vector<float> src = {1, 2, 3, 10, 20, 30, 100, 200, 300};
  std::vector<float> dst(2 * 4, -1.0f);
  const std::vector<int64_t> index = {2, 0};
  gather_rows(src.data(), width, index.data(), 2, width, dst.data(), 4);
  EXPECT_EQ(dst, (std::vector<float>{100, 200, 300, -1, 1, 2, 3, -1}));

  const std::vector<int64_t> position = {0, 2, 1, -1};  // 2 tokens, k = 2; one pair dropped
  const std::vector<float> weight = {0.5f, 2.0f, 3.0f, 7.0f};
  std::vector<float> y(2 * width);
  weighted_unpermute(src.data(), width, position.data(), weight.data(), 2, 2, width, y.data());
  EXPECT_EQ(y, (std::vector<float>{200.5f, 401, 601.5f, 30, 60, 90}));
  weighted_unpermute(src.data(), width, position.data(), nullptr, 2, 2, width, y.data());
  EXPECT_EQ(y, (std::vector<float>{101, 202, 303, 10, 20, 30}));
}

TEST(Padded, CapacityIsTheCeilingOfTheFairShare) {
  EXPECT_EQ(padded_capacity(1.25, 1024, 2, 8), 320);
  EXPECT_EQ(padded_capacity(1.0, 10, 2, 8), 3);   // ceil(2.5)
  EXPECT_EQ(padded_capacity(0.01, 4, 1, 60), 1);  // never zero slots
}

}  // namespace
}  // namespace c2r
