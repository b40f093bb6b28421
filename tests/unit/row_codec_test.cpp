// The row payload codec: bf16 and e4m3 rounding against references computed another way, the row
// layout's byte arithmetic, and encode/decode round trips of random rows within the error bounds.
//
// Error bounds (round to nearest: the error is at most half the spacing of the grid at x):
//   bf16: 8 significand bits (7 stored). For |x| in [2^e, 2^(e+1)) the spacing is 2^(e-7), half of
//     it 2^(e-8) <= 2^-8 |x|. The bound is 2^-8, not 2^-9: x = 1 + 2^-8 - tiny rounds to 1 with an
//     error of almost 2^-8 (BitsMatchNearestEvenReference checks that such errors occur).
//   fp8: y = x * (1 / scale) is rounded to E4M3. Normals (|y| >= 2^-6): 3 stored mantissa bits,
//     spacing 2^(e-3), so |q - y| <= 2^(e-4) <= 2^-4 |y|, and at most 2^-4 / (1 + 2^-4) |y| (the
//     error is 0 at y = 2^e). Subnormals (|y| < 2^-6): spacing 2^-9, so |q - y| <= 2^-10.
//     Decoding multiplies by the scale: |q scale - x| <= 2^-4 |x| + 2^-10 scale, where the float32
//     roundings of 1 / scale, x * (1 / scale) and q * scale (a few 2^-24 |x|) and the saturation of
//     |y| <= 448 (1 + 2^-22) at 448 fit in the slack 2^-4 - 2^-4 / (1 + 2^-4) > 2^-9 of the normal
//     case.
#include <gtest/gtest.h>

#include <algorithm>
#include <cfloat>
#include <cmath>
#include <cstring>
#include <limits>
#include <vector>

#include "common/error.hpp"
#include "common/rng.hpp"
#include "kernels/cpu/row_codec.hpp"

namespace c2r {
namespace {

uint32_t bits_of(float x) {
  uint32_t u;
  std::memcpy(&u, &x, sizeof u);
  return u;
}

float float_of(uint32_t u) {
  float x;
  std::memcpy(&x, &u, sizeof x);
  return x;
}

// A finite float with a random sign, a biased exponent uniform in [lo, hi] and a random mantissa.
float random_float(Rng& rng, int lo, int hi) {
  const uint32_t sign = static_cast<uint32_t>(rng.next_u64() & 1u) << 31;
  const uint32_t exponent = static_cast<uint32_t>(lo + static_cast<int>(rng.below(hi - lo + 1)));
  const uint32_t mantissa = static_cast<uint32_t>(rng.next_u64()) & 0x7FFFFFu;
  return float_of(sign | exponent << 23 | mantissa);
}

// x rounded to the multiples of `spacing` (a power of two), ties to the even multiple, in double:
// x / spacing and the floor are exact.
double round_to_grid(double x, double spacing) {
  const double steps = std::fabs(x) / spacing;
  double low = std::floor(steps);
  const double rest = steps - low;
  if (rest > 0.5 || (rest == 0.5 && std::fmod(low, 2.0) != 0.0)) low += 1.0;
  return std::copysign(low * spacing, x);
}

// bf16's spacing at x: 8 significand bits, subnormals below 2^-126 with spacing 2^-133.
double bf16_spacing(float x) {
  int e;
  std::frexp(static_cast<double>(x), &e);  // |x| = m 2^e, m in [0.5, 1)
  return std::max(std::ldexp(1.0, e - 8), std::ldexp(1.0, -133));
}

// E4M3 value of a code by the format's definition.
double e4m3_formula(int code) {
  const int e = (code >> 3) & 0xF, m = code & 7;
  const double magnitude =
      e == 0 ? std::ldexp(m / 8.0, -6) : std::ldexp(1.0 + m / 8.0, e - 7);  // subnormal : normal
  return (code & 0x80) ? -magnitude : magnitude;
}

// Half the E4M3 spacing at x, |x| <= 448.
double e4m3_half_ulp(double x) {
  const double a = std::fabs(x);
  if (a < std::ldexp(1.0, -6)) return std::ldexp(1.0, -10);
  int e;
  std::frexp(a, &e);  // a in [2^(e-1), 2^e)
  return std::ldexp(1.0, e - 1 - 4);
}

TEST(RowCodecNames, ParseToStringAndCombineType) {
  for (PayloadType type : {PayloadType::kFp32, PayloadType::kBf16, PayloadType::kFp8}) {
    EXPECT_EQ(parse_payload_type(to_string(type)), type);
  }
  EXPECT_EQ(to_string(PayloadType::kFp32), "fp32");
  EXPECT_EQ(to_string(PayloadType::kBf16), "bf16");
  EXPECT_EQ(to_string(PayloadType::kFp8), "fp8");
  EXPECT_EQ(combine_type(PayloadType::kFp32), PayloadType::kFp32);
  EXPECT_EQ(combine_type(PayloadType::kBf16), PayloadType::kBf16);
  EXPECT_EQ(combine_type(PayloadType::kFp8), PayloadType::kBf16);
  for (const char* bad : {"", "FP8", "fp16", "e4m3", "fp8 "}) {
    try {
      parse_payload_type(bad);
      ADD_FAILURE() << "accepted '" << bad << "'";
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find("fp32, bf16, fp8"), std::string::npos) << e.what();
    }
  }
}

TEST(RowCodecBf16, EveryPatternRoundTrips) {
  for (uint32_t b = 0; b <= 0xFFFFu; ++b) {
    const uint16_t code = static_cast<uint16_t>(b);
    const float x = bf16_to_float(code);
    ASSERT_EQ(bits_of(x), b << 16);
    const uint16_t back = float_to_bf16(x);
    if (std::isnan(x)) {
      EXPECT_TRUE(std::isnan(bf16_to_float(back))) << std::hex << b;
      EXPECT_EQ(back & 0x8000u, code & 0x8000u) << std::hex << b;  // sign kept
      EXPECT_NE(back & 0x0040u, 0u) << std::hex << b;              // made quiet
    } else {
      EXPECT_EQ(back, code) << std::hex << b;
    }
  }
}

TEST(RowCodecBf16, SpecialValues) {
  const float inf = std::numeric_limits<float>::infinity();
  EXPECT_EQ(float_to_bf16(inf), 0x7F80u);
  EXPECT_EQ(float_to_bf16(-inf), 0xFF80u);
  EXPECT_EQ(float_to_bf16(FLT_MAX), 0x7F80u);  // past bf16's largest finite: rounds to inf
  EXPECT_EQ(float_to_bf16(-0.0f), 0x8000u);
  // A signalling NaN whose payload lies only in the dropped bits must not become inf.
  EXPECT_TRUE(std::isnan(bf16_to_float(float_to_bf16(float_of(0x7F800001u)))));
  EXPECT_TRUE(std::isnan(bf16_to_float(float_to_bf16(float_of(0xFF800001u)))));
  EXPECT_TRUE(std::isnan(bf16_to_float(float_to_bf16(std::nanf("")))));
  // Ties to even: 1 + 2^-8 lies halfway between 1 and 1 + 2^-7.
  EXPECT_EQ(float_to_bf16(1.0f + 0x1p-8f), 0x3F80u);
  EXPECT_EQ(float_to_bf16(1.0f + 0x1p-7f + 0x1p-8f), 0x3F82u);
}

TEST(RowCodecBf16, BitsMatchNearestEvenReference) {
  Rng rng(11, Stream::kHidden, 0);
  double max_relative = 0;
  for (int i = 0; i < 1000000; ++i) {
    const float x = random_float(rng, 0, 254);  // denormals up to the largest binade
    const float got = bf16_to_float(float_to_bf16(x));
    // The reference: the nearer of the two bf16 neighbours of x, ties to even, in double; past
    // the largest bf16 it is 2^128, which is inf as a float.
    const double nearest = round_to_grid(x, bf16_spacing(x));
    const float want = std::fabs(nearest) < 0x1p128
                           ? static_cast<float>(nearest)
                           : std::copysign(std::numeric_limits<float>::infinity(), x);
    ASSERT_EQ(bits_of(got), bits_of(want)) << x;
    if (std::fabs(x) >= FLT_MIN && std::isfinite(got)) {
      const double relative = std::fabs((double{got} - x) / x);
      ASSERT_LE(relative, 0x1p-8) << x;
      max_relative = std::max(max_relative, relative);
    }
  }
  EXPECT_GT(max_relative, 0x1p-9);  // 2^-8 is the bound that holds, 2^-9 would not
}

TEST(RowCodecE4m3, EveryCodeMatchesTheFormula) {
  for (int code = 0; code < 256; ++code) {
    const float x = e4m3_to_float(static_cast<uint8_t>(code));
    if ((code & 0x7F) == 0x7F) {
      EXPECT_TRUE(std::isnan(x)) << code;
      continue;
    }
    EXPECT_EQ(double{x}, e4m3_formula(code)) << code;
    EXPECT_EQ(float_to_e4m3(x), code) << code;  // -0 included: the sign is kept
  }
  EXPECT_EQ(e4m3_to_float(0x7E), 448.0f);
  EXPECT_EQ(e4m3_to_float(0x01), 0x1p-9f);
  EXPECT_EQ(e4m3_to_float(0x08), 0x1p-6f);
}

TEST(RowCodecE4m3, TiesToEvenAndNeighbours) {
  for (int code = 0; code < 0x7E; ++code) {  // each pair of adjacent finite codes, both signs
    for (int sign : {0, 0x80}) {
      const float low = e4m3_to_float(static_cast<uint8_t>(code | sign));
      const float high = e4m3_to_float(static_cast<uint8_t>((code + 1) | sign));
      const float middle = (low + high) / 2;  // exact: a few significant bits
      const int even = (code % 2 == 0) ? code : code + 1;
      EXPECT_EQ(float_to_e4m3(middle), even | sign) << code;
      EXPECT_EQ(float_to_e4m3(std::nextafter(middle, low)), code | sign) << code;
      EXPECT_EQ(float_to_e4m3(std::nextafter(middle, high)), (code + 1) | sign) << code;
    }
  }
}

TEST(RowCodecE4m3, SaturatesAndMapsNanTo7F) {
  const float inf = std::numeric_limits<float>::infinity();
  for (float x : {448.0f, std::nextafter(448.0f, inf), 464.0f, 480.0f, 1e6f, FLT_MAX, inf}) {
    EXPECT_EQ(float_to_e4m3(x), 0x7E) << x;
    EXPECT_EQ(float_to_e4m3(-x), 0xFE) << x;
  }
  EXPECT_EQ(float_to_e4m3(std::nanf("")), 0x7F);
  EXPECT_EQ(float_to_e4m3(-std::nanf("")), 0x7F);
  EXPECT_EQ(float_to_e4m3(float_of(0x7F800001u)), 0x7F);
  EXPECT_EQ(float_to_e4m3(0x1p-11f), 0x00);     // a quarter step: down to 0
  EXPECT_EQ(float_to_e4m3(0x1p-10f), 0x00);     // half a step: tie, to the even 0
  EXPECT_EQ(float_to_e4m3(-0x1p-10f), 0x80);    // ... keeping the sign
  EXPECT_EQ(float_to_e4m3(FLT_MIN / 4), 0x00);  // float denormal
  EXPECT_EQ(float_to_e4m3(0x1.8p-10f), 0x01);   // past half a step
}

TEST(RowCodecE4m3, RandomValuesRoundToTheNearestCode) {
  Rng rng(12, Stream::kHidden, 0);
  std::vector<double> grid;  // every finite non-negative code's value, ascending
  for (int code = 0; code <= 0x7E; ++code) grid.push_back(e4m3_formula(code));
  for (int i = 0; i < 200000; ++i) {
    // |x| in [2^-12, 448]: subnormals, every normal binade and the saturating top.
    float x = random_float(rng, 127 - 12, 127 + 8);
    if (std::fabs(x) > 448.0f) x = std::copysign(448.0f * static_cast<float>(rng.uniform()), x);
    const uint8_t code = float_to_e4m3(x);
    const double got = e4m3_to_float(code);
    ASSERT_LE(std::fabs(got - x), e4m3_half_ulp(x)) << x;
    // The reference: the nearest code by search, ties to the even code.
    const double a = std::fabs(x);
    int best = 0;
    for (int c = 1; c <= 0x7E; ++c) {
      const double d = std::fabs(grid[c] - a), best_d = std::fabs(grid[best] - a);
      if (d < best_d || (d == best_d && c % 2 == 0)) best = c;
    }
    ASSERT_EQ(code & 0x7F, best) << x;
    ASSERT_EQ(code & 0x80, x < 0 ? 0x80 : 0) << x;
  }
}

TEST(RowCodecFormat, RowBytesArithmetic) {
  for (int hidden : {1, 7, 127, 128, 129, 4096}) {
    for (int inline_floats : {0, 4}) {
      const int64_t h = hidden, extra = 4 * inline_floats;
      const int64_t groups = (h + 127) / 128;
      RowFormat f{PayloadType::kFp32, hidden, inline_floats};
      EXPECT_EQ(f.payload_bytes(), 4 * h);
      EXPECT_EQ(f.row_bytes(), 4 * h + extra);
      f.type = PayloadType::kBf16;
      EXPECT_EQ(f.payload_bytes(), 2 * h);
      EXPECT_EQ(f.row_bytes(), 2 * h + (h % 2 == 0 ? 0 : 2) + extra) << hidden;
      f.type = PayloadType::kFp8;
      EXPECT_EQ(f.payload_bytes(), h + 4 * groups);
      EXPECT_EQ(f.row_bytes(), h + (4 - h % 4) % 4 + 4 * groups + extra) << hidden;
      EXPECT_EQ(f.row_bytes() % 4, 0);
    }
  }
  EXPECT_EQ((RowFormat{PayloadType::kFp8, 4096, 0}.row_bytes()), 4096 + 128);
  EXPECT_EQ((RowFormat{PayloadType::kFp8, 7, 4}.row_bytes()), 8 + 4 + 16);
  EXPECT_EQ((RowFormat{PayloadType::kBf16, 7, 4}.row_bytes()), 16 + 16);
  EXPECT_EQ((RowFormat{PayloadType::kBf16, 0, 4}.row_bytes()), 16);
  EXPECT_EQ((RowFormat{PayloadType::kFp8, 0, 0}.row_bytes()), 0);
}

TEST(RowCodecFormat, NegativeSizesAreRejected) {
  std::vector<float> x(8, 1.0f);
  std::vector<uint8_t> bytes(64);
  EXPECT_THROW(encode_rows(RowFormat{PayloadType::kFp8, -1, 0}, x.data(), 1, bytes.data()), Error);
  EXPECT_THROW(decode_rows(RowFormat{PayloadType::kBf16, 4, -1}, bytes.data(), 1, x.data()), Error);
}

// Random rows: each value a normal times 2^k, k uniform in [-10, 10], so one fp8 group spans
// 2^20 and its small values land on E4M3's subnormals; inline floats of any finite bits.
std::vector<float> random_rows(int64_t rows, int width, uint64_t seed) {
  Rng rng(seed, Stream::kHidden, 0);
  std::vector<float> x(static_cast<size_t>(rows) * width);
  for (auto& v : x) {
    v = static_cast<float>(rng.normal() * std::ldexp(1.0, static_cast<int>(rng.below(21)) - 10));
  }
  return x;
}

TEST(RowCodecRows, RoundTripsWithinTheBounds) {
  const int64_t rows = 5;
  uint64_t seed = 100;
  for (PayloadType type : {PayloadType::kFp32, PayloadType::kBf16, PayloadType::kFp8}) {
    for (int hidden : {1, 7, 127, 128, 129, 4096}) {
      for (int inline_floats : {0, 4}) {
        SCOPED_TRACE(to_string(type) + " hidden " + std::to_string(hidden) + " inline " +
                     std::to_string(inline_floats));
        const RowFormat format{type, hidden, inline_floats};
        const int width = hidden + inline_floats;
        const int64_t row_bytes = format.row_bytes();
        const std::vector<float> x = random_rows(rows, width, ++seed);
        // 0xAB everywhere first: padding must come out as zeros, every other byte written.
        std::vector<uint8_t> bytes(static_cast<size_t>(rows * row_bytes), 0xAB);
        encode_rows(format, x.data(), rows, bytes.data());
        std::vector<float> y(x.size(), -1.0f);
        decode_rows(format, bytes.data(), rows, y.data());
        std::vector<float> trip = x;
        round_trip_rows(format, trip.data(), rows);
        ASSERT_EQ(std::memcmp(trip.data(), y.data(), sizeof(float) * y.size()), 0);

        const int64_t values_bytes = type == PayloadType::kFp32   ? 4 * int64_t{hidden}
                                     : type == PayloadType::kBf16 ? 2 * int64_t{hidden}
                                                                  : int64_t{hidden};
        const int64_t scales_at = (values_bytes + 3) / 4 * 4;
        for (int64_t r = 0; r < rows; ++r) {
          const uint8_t* row = bytes.data() + r * row_bytes;
          for (int64_t b = values_bytes; b < scales_at; ++b) ASSERT_EQ(row[b], 0) << b;
          const float* xr = x.data() + r * width;
          const float* yr = y.data() + r * width;
          // Inline floats: bit for bit, at the row's end.
          ASSERT_EQ(std::memcmp(xr + hidden, yr + hidden, sizeof(float) * inline_floats), 0);
          ASSERT_EQ(std::memcmp(xr + hidden, row + row_bytes - 4 * inline_floats,
                                sizeof(float) * inline_floats),
                    0);
          for (int i = 0; i < hidden; ++i) {
            const double err = std::fabs(double{yr[i]} - xr[i]);
            if (type == PayloadType::kFp32) {
              ASSERT_EQ(bits_of(yr[i]), bits_of(xr[i])) << i;
            } else if (type == PayloadType::kBf16) {
              ASSERT_LE(err, 0x1p-8 * std::fabs(xr[i])) << i;
            } else {
              const int g = i / kFp8GroupChannels;
              float scale;
              std::memcpy(&scale, row + scales_at + 4 * g, sizeof scale);
              double amax = 0;
              const int end = std::min(hidden, (g + 1) * kFp8GroupChannels);
              for (int j = g * kFp8GroupChannels; j < end; ++j) {
                amax = std::max(amax, std::fabs(double{xr[j]}));
              }
              ASSERT_EQ(scale, static_cast<float>(amax / 448.0)) << i;
              ASSERT_LE(err, 0x1p-4 * std::fabs(xr[i]) + 0x1p-10 * scale) << i;
            }
          }
        }
      }
    }
  }
}

TEST(RowCodecRows, SpecialFp8Groups) {
  // hidden 512: group 0 all zeros, group 1 denormal-sized values, group 2 holds an inf, group 3 a
  // NaN; the inline floats after them stay exact.
  const RowFormat format{PayloadType::kFp8, 512, 2};
  std::vector<float> x = random_rows(1, 514, 7);
  for (int i = 0; i < 128; ++i) x[i] = 0.0f;
  for (int i = 128; i < 256; ++i) x[i] = static_cast<float>(FLT_MIN * 1e-3 * (i - 191.5));
  x[300] = std::numeric_limits<float>::infinity();
  x[400] = std::nanf("");
  std::vector<uint8_t> bytes(static_cast<size_t>(format.row_bytes()));
  encode_rows(format, x.data(), 1, bytes.data());
  std::vector<float> y(x.size());
  decode_rows(format, bytes.data(), 1, y.data());
  float scales[4];
  std::memcpy(scales, bytes.data() + 512, sizeof scales);
  EXPECT_EQ(scales[0], 1.0f);
  EXPECT_EQ(scales[1], FLT_MIN);
  EXPECT_EQ(scales[2], std::numeric_limits<float>::infinity());
  EXPECT_TRUE(std::isnan(scales[3]));
  for (int i = 0; i < 128; ++i) EXPECT_EQ(y[i], 0.0f);
  for (int i = 128; i < 256; ++i) {
    EXPECT_LE(std::fabs(double{y[i]} - x[i]), 0x1p-4 * std::fabs(x[i]) + 0x1p-10 * FLT_MIN) << i;
  }
  for (int i = 256; i < 512; ++i) EXPECT_TRUE(std::isnan(y[i])) << i;
  EXPECT_EQ(std::memcmp(x.data() + 512, y.data() + 512, 2 * sizeof(float)), 0);
  std::vector<float> trip = x;
  round_trip_rows(format, trip.data(), 1);
  EXPECT_EQ(std::memcmp(trip.data(), y.data(), sizeof(float) * y.size()), 0);
}

}  // namespace
}  // namespace c2r
