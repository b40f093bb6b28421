// Expert FFN against naive loops, permute helpers, and padded capacity.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <numeric>
#include <tuple>

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
  EXPECT_EQ(padded_capacity(1.0, 10, 2, 8), 3);    // ceil(2.5)
  EXPECT_EQ(padded_capacity(0.01, 4, 1, 60), 1);   // never zero slots
  EXPECT_EQ(padded_capacity(1.1, 100, 2, 4), 55);  // 55.000000000000007 in floating point
  EXPECT_EQ(padded_capacity(2.2, 100, 2, 8), 55);
}

// Largest relative error of any row (Frobenius per row), rows read with leading dimension ld.
double worst_row_error(const std::vector<float>& got, int64_t ld, const std::vector<float>& want,
                       int64_t rows, int hidden) {
  double worst = 0;
  for (int64_t r = 0; r < rows; ++r) {
    worst = std::max(worst, relative_error(&got[r * ld], &want[r * hidden], hidden));
  }
  return worst;
}

TEST(ExpertFfn, SingleBlockMatchesNaiveAndLeavesPaddingAlone) {
  const int hidden = 40, ffn = 24;
  const int64_t rows = 19, ldx = hidden + 3, ldo = hidden + 7;
  const FfnWeights w = make_ffn_weights(5, Stream::kExpert, 2, hidden, ffn);
  const auto x = normals(rows * ldx, 6);
  std::vector<float> out(rows * ldo, -7.0f), scratch(ffn_scratch_floats(ffn), 0.0f);
  swiglu_ffn(w, RowBlock{x.data(), ldx, out.data(), ldo, rows}, scratch.data());
  std::vector<float> packed(rows * hidden), expected(rows * hidden);
  for (int64_t r = 0; r < rows; ++r) std::copy_n(&x[r * ldx], hidden, &packed[r * hidden]);
  swiglu_ffn_naive(w, packed.data(), rows, expected.data());
  EXPECT_LT(worst_row_error(out, ldo, expected, rows, hidden), 1e-4);
  for (int64_t r = 0; r < rows; ++r) {
    for (int64_t c = hidden; c < ldo; ++c) ASSERT_EQ(out[r * ldo + c], -7.0f) << r << "," << c;
  }
  // The output is not trivially small: the FFN of unit-variance rows is O(0.1..1).
  double norm = 0;
  for (float v : expected) norm += v * v;
  EXPECT_GT(norm / expected.size(), 1e-3);
}

TEST(ExpertFfn, GroupedOverManyBlocksAndExpertsMatchesNaive) {
  const int hidden = 32, ffn = 48, experts = 3;
  const int64_t ldx = 37, ldo = 45, rows = 60;
  std::vector<FfnWeights> w;
  for (int e = 0; e < experts; ++e)
    w.push_back(make_ffn_weights(9, Stream::kExpert, e, hidden, ffn));
  const auto x = normals(rows * ldx, 10);
  std::vector<float> out(rows * ldo, 0.0f), scratch(ffn_scratch_floats(ffn));
  // Row ranges [begin, end) and their expert; expert 1 has three blocks, one empty.
  const std::vector<std::tuple<int64_t, int64_t, int>> ranges = {
      {0, 5, 1}, {5, 17, 0}, {17, 17, 1}, {17, 30, 2}, {30, 41, 1}, {41, 60, 0}};
  std::vector<ExpertGroup> groups(experts);
  for (int e = 0; e < experts; ++e) groups[e].weights = &w[e];
  std::vector<int> owner(rows, -1);
  for (auto [begin, end, e] : ranges) {
    groups[e].blocks.push_back(RowBlock{&x[begin * ldx], ldx, &out[begin * ldo], ldo, end - begin});
    for (int64_t r = begin; r < end; ++r) owner[r] = e;
  }
  grouped_swiglu_ffn(groups, scratch.data());
  std::vector<float> row(hidden), expected(hidden);
  for (int64_t r = 0; r < rows; ++r) {
    ASSERT_GE(owner[r], 0);
    std::copy_n(&x[r * ldx], hidden, row.data());
    swiglu_ffn_naive(w[owner[r]], row.data(), 1, expected.data());
    EXPECT_LT(relative_error(&out[r * ldo], expected.data(), hidden), 1e-4) << "row " << r;
  }
  // Another expert's weights give a different output (the grouping matters).
  std::copy_n(&x[0], hidden, row.data());
  swiglu_ffn_naive(w[0], row.data(), 1, expected.data());
  EXPECT_GT(relative_error(&out[0], expected.data(), hidden), 0.1);
}

TEST(ExpertFfn, BlocksLongerThanOneGemmChunkAtSmallWidth) {
  // Rows past kFfnChunkRows go through a second GEMM chunk; a narrow FFN keeps the naive loop
  // cheap.
  const int hidden = 8, ffn = 4;
  const int64_t rows = kFfnChunkRows + 37, ldx = hidden + 2, ldo = hidden + 1;
  const FfnWeights w = make_ffn_weights(14, Stream::kExpert, 0, hidden, ffn);
  const auto x = normals(rows * ldx, 15);
  std::vector<float> out(rows * ldo, -3.0f), scratch(ffn_scratch_floats(ffn));
  grouped_swiglu_ffn({ExpertGroup{&w, {RowBlock{x.data(), ldx, out.data(), ldo, rows}}}},
                     scratch.data());
  std::vector<float> packed(rows * hidden), expected(rows * hidden);
  for (int64_t r = 0; r < rows; ++r) std::copy_n(&x[r * ldx], hidden, &packed[r * hidden]);
  swiglu_ffn_naive(w, packed.data(), rows, expected.data());
  EXPECT_LT(worst_row_error(out, ldo, expected, rows, hidden), 1e-4);
  for (int64_t r = 0; r < rows; ++r) ASSERT_EQ(out[r * ldo + hidden], -3.0f) << "row " << r;
}

TEST(ExpertFfn, WeightsAreSeededPerExpert) {
  const FfnWeights a = make_ffn_weights(1, Stream::kExpert, 0, 16, 8);
  const FfnWeights b = make_ffn_weights(1, Stream::kExpert, 0, 16, 8);
  const FfnWeights c = make_ffn_weights(1, Stream::kExpert, 1, 16, 8);
  EXPECT_EQ(a.gate_up, b.gate_up);
  EXPECT_EQ(a.down, b.down);
  EXPECT_NE(a.gate_up, c.gate_up);
  ASSERT_EQ(a.gate_up.size(), 16u * 2 * 8);
  ASSERT_EQ(a.down.size(), 8u * 16);
  EXPECT_DOUBLE_EQ(a.flops_per_row(), 2.0 * 16 * 16 + 2.0 * 8 * 16);
}

TEST(Permute, StableBucketOrderOfRandomKeysMatchesStableSort) {
  const int buckets = 7;
  const int64_t n = 300;
  std::vector<int32_t> keys(n);
  Rng rng(11, Stream::kRouter, 0);
  for (auto& k : keys) k = static_cast<int32_t>(rng.below(buckets - 2));  // buckets 5, 6 empty
  std::vector<int64_t> offsets(buckets + 1, -5), order(n, -5);
  stable_bucket_order(keys.data(), n, buckets, offsets.data(), order.data());
  std::vector<int64_t> expected(n);
  std::iota(expected.begin(), expected.end(), 0);
  std::stable_sort(expected.begin(), expected.end(),
                   [&](int64_t a, int64_t b) { return keys[a] < keys[b]; });
  EXPECT_EQ(order, expected);
  for (int b = 0; b < buckets; ++b) {
    EXPECT_EQ(offsets[b + 1] - offsets[b], std::count(keys.begin(), keys.end(), b)) << b;
  }
  EXPECT_EQ(offsets[0], 0);
  EXPECT_EQ(offsets[buckets - 2], n);  // the empty last buckets start and end at n
  EXPECT_EQ(offsets[buckets], n);
}

TEST(Permute, GatherWithStridesAndUnpermuteAgainstLoops) {
  const int width = 5;
  const int64_t ld_src = 8, ld_dst = 6, src_rows = 9, tokens = 6;
  const int k = 3;
  const auto src = normals(src_rows * ld_src, 12);
  const std::vector<int64_t> index = {8, 0, 3, 3, 7};
  std::vector<float> dst(index.size() * ld_dst, 42.0f);
  gather_rows(src.data(), ld_src, index.data(), static_cast<int64_t>(index.size()), width,
              dst.data(), ld_dst);
  for (size_t i = 0; i < index.size(); ++i) {
    for (int64_t c = 0; c < ld_dst; ++c) {
      const float want = c < width ? src[index[i] * ld_src + c] : 42.0f;  // padding untouched
      ASSERT_EQ(dst[i * ld_dst + c], want) << i << "," << c;
    }
  }

  // Positions into src; -1 marks a dropped pair, token 3 lost every pair.
  const std::vector<int64_t> position = {0, 4, -1, 2, 2, 8, -1, 1, 5, -1, -1, -1, 3, 6, 7, 0, 8, 4};
  const auto weight = normals(tokens * k, 13);
  std::vector<float> y(tokens * width, 99.0f), ones(tokens * width, 99.0f);
  weighted_unpermute(src.data(), ld_src, position.data(), weight.data(), tokens, k, width,
                     y.data());
  weighted_unpermute(src.data(), ld_src, position.data(), nullptr, tokens, k, width, ones.data());
  for (int64_t t = 0; t < tokens; ++t) {
    for (int c = 0; c < width; ++c) {
      double want = 0, want_ones = 0;
      for (int j = 0; j < k; ++j) {
        const int64_t p = position[t * k + j];
        if (p < 0) continue;
        want += weight[t * k + j] * src[p * ld_src + c];
        want_ones += src[p * ld_src + c];
      }
      EXPECT_NEAR(y[t * width + c], want, 1e-5) << t << "," << c;
      EXPECT_NEAR(ones[t * width + c], want_ones, 1e-5) << t << "," << c;
    }
  }
  EXPECT_EQ(std::vector<float>(y.begin() + 3 * width, y.begin() + 4 * width),
            std::vector<float>(width, 0.0f));  // every pair dropped: zero, not stale
}

TEST(Padded, CapacityFollowsTheFormula) {
  for (double cf : {0.5, 1.0, 1.25, 2.0, 4.0}) {
    for (int64_t tokens : {1, 7, 64, 1000, 4096}) {
      for (auto [k, experts] : {std::pair{2, 8}, std::pair{4, 60}, std::pair{1, 3}}) {
        const int64_t want =
            std::max<int64_t>(1, static_cast<int64_t>(std::ceil(cf * tokens * k / experts)));
        EXPECT_EQ(padded_capacity(cf, tokens, k, experts), want)
            << cf << " " << tokens << " " << k << " " << experts;
      }
    }
  }
  EXPECT_EQ(padded_capacity(2.0, 60, 4, 60), 8);
  EXPECT_EQ(padded_capacity(0.5, 7, 2, 8), 1);  // ceil(0.875)
  EXPECT_EQ(padded_capacity(1.0, 1, 1, 60), 1);
}

}  // namespace
}  // namespace c2r
