// Checked products of sizes: a product beyond int64_t is seen, never wrapped around.

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <limits>

#include "common/checked_size.hpp"

namespace c2r {
namespace {

constexpr int64_t kMax = std::numeric_limits<int64_t>::max();

TEST(CheckedSize, MultipliesWhatFits) {
  EXPECT_EQ(checked_mul(0, kMax), 0);
  EXPECT_EQ(checked_mul(1, kMax), kMax);
  EXPECT_EQ(checked_mul(int64_t{1} << 31, int64_t{1} << 31), int64_t{1} << 62);
  EXPECT_EQ(checked_product({}), 1);
  EXPECT_EQ(checked_product({1024, 4096, 4}), int64_t{1024} * 4096 * 4);
  EXPECT_DOUBLE_EQ(product_bytes({3, 4096, 1376, 4}), 3.0 * 4096 * 1376 * 4);
  EXPECT_DOUBLE_EQ(bytes_of(int64_t{1000}, {64, 4}), 1000.0 * 64 * 4);
}

// --tokens 4611686018427387904 (2^62) with a hidden size of 64: tokens x hidden x sizeof(float)
// is 2^70, which int64_t arithmetic wraps to 0.
TEST(CheckedSize, SeesTheProductsThatOverflow) {
  const int64_t tokens = int64_t{1} << 62;
  EXPECT_FALSE(checked_mul(tokens, 2));
  EXPECT_EQ(checked_mul(tokens, 1), tokens);
  EXPECT_FALSE(checked_product({tokens, 64, 4}));
  EXPECT_FALSE(checked_product({64, 4, tokens}));  // wherever the large factor stands
  EXPECT_FALSE(checked_product({tokens, 4, 0}));   // a partial product past 64 bits, even before 0
  EXPECT_EQ(checked_product({tokens, 0, 64}), 0);
  EXPECT_FALSE(checked_mul(kMax, 2));
  EXPECT_FALSE(checked_mul(int64_t{1} << 32, int64_t{1} << 31));
  EXPECT_TRUE(std::isinf(product_bytes({tokens, 64, 4})));
  EXPECT_TRUE(std::isinf(bytes_of(checked_mul(tokens, 8), {1})));  // an earlier overflow carries
  EXPECT_TRUE(std::isinf(bytes_of(tokens, {64, 4})));
}

TEST(CheckedSize, RefusesNegativeCounts) {
  EXPECT_FALSE(checked_mul(-1, 4));
  EXPECT_FALSE(checked_mul(4, -1));
  EXPECT_FALSE(checked_product({2, -3}));
}

}  // namespace
}  // namespace c2r
