#include "kernels/cpu/row_codec.hpp"

#include <algorithm>
#include <cfloat>
#include <cmath>
#include <cstring>

#include "common/error.hpp"

namespace c2r {
namespace {

// Bit casts through memcpy of one register-sized value: the compiler turns them into moves, and
// the loops below still vectorize (C++17 has no std::bit_cast).
inline uint32_t bits_of(float x) {
  uint32_t u;
  std::memcpy(&u, &x, sizeof u);
  return u;
}

inline float float_of(uint32_t u) {
  float x;
  std::memcpy(&x, &u, sizeof x);
  return x;
}

// |x| as the integer of its bits: ordered as |x| is, with every NaN above inf. Signed, because a
// signed compare is one SSE2 instruction where an unsigned one takes three.
inline int32_t magnitude_bits(float x) {
  return static_cast<int32_t>(bits_of(x) & 0x7FFFFFFFu);
}

constexpr int32_t kInfBits = 0x7F800000;
constexpr int32_t kE4m3MaxBits = 0x43E00000;        // 448.0f, E4M3's largest finite value
constexpr int32_t kE4m3MinNormalBits = 0x3C800000;  // 2^-6, E4M3's smallest normal
constexpr uint32_t kQuietNanBits = 0x7FC00000u;
constexpr float kE4m3Max = 448.0f;

// cond ? a : b on masks, which the vectorizer takes as a blend even where the operands hold float
// arithmetic (a ?: on those may be compiled as a branch, which stops vectorization).
inline uint32_t select(bool cond, uint32_t a, uint32_t b) {
  const uint32_t mask = 0u - static_cast<uint32_t>(cond);
  return (a & mask) | (b & ~mask);
}

int64_t round_up4(int64_t n) {
  return (n + 3) & ~int64_t{3};
}

int64_t fp8_groups(int hidden) {
  return (static_cast<int64_t>(hidden) + kFp8GroupChannels - 1) / kFp8GroupChannels;
}

// Each function below is branch-free: both outcomes are computed and one selected, so the loops
// calling them become vector blends. Unsigned arithmetic wraps (defined) in the outcome not taken.

inline uint16_t bf16_round(float x) {
  const uint32_t u = bits_of(x);
  // Adding 0x7FFF plus the lowest kept bit rounds the 16 dropped bits to nearest, ties to even; a
  // carry moves into the exponent, so the largest finite values round to inf as IEEE rounding
  // does, and inf stays inf.
  const uint32_t rounded = (u + 0x7FFFu + ((u >> 16) & 1u)) >> 16;
  // A NaN keeps its sign and top payload bits with the quiet bit set, so it cannot become inf.
  const uint32_t nan = (u | 0x00400000u) >> 16;
  return static_cast<uint16_t>(select(magnitude_bits(x) > kInfBits, nan, rounded));
}

inline float bf16_value(uint16_t b) {
  return float_of(static_cast<uint32_t>(b) << 16);
}

inline uint8_t e4m3_round(float x) {
  const uint32_t sign = (bits_of(x) >> 24) & 0x80u;
  const int32_t mag = magnitude_bits(x);
  // Saturate: everything past 448, inf included, becomes 448 (NaN is selected away at the end).
  const uint32_t a = static_cast<uint32_t>(mag < kE4m3MaxBits ? mag : kE4m3MaxBits);
  // Normals (|x| >= 2^-6): round the 23-bit mantissa to 3 bits at bit 20, ties to even (a carry
  // moves into the exponent), then rebias the exponent from 127 to 7: the top bits minus 120 << 3.
  const uint32_t normal = ((a + 0x7FFFFu + ((a >> 20) & 1u)) >> 20) - (120u << 3);
  // Subnormals (|x| < 2^-6, the grid of multiples of 2^-9): adding 2^14, whose float spacing is
  // 2^-9, rounds to that grid to nearest even in hardware; the low mantissa bits are then the
  // number of 2^-9 steps, 0..8, and 8 is the code of 2^-6, the smallest normal.
  const uint32_t subnormal = bits_of(float_of(a) + 16384.0f) - 0x46800000u;
  const uint32_t code = select(mag < kE4m3MinNormalBits, subnormal, normal) | sign;
  return static_cast<uint8_t>(select(mag > kInfBits, 0x7Fu, code));
}

inline float e4m3_value(uint8_t b) {
  const uint32_t c = b;
  const uint32_t sign = (c & 0x80u) << 24;
  const uint32_t e = (c >> 3) & 0xFu;
  const uint32_t m = c & 7u;
  const uint32_t normal = ((e + 120u) << 23) | (m << 20);               // 2^(e-7) * (1 + m/8)
  const uint32_t subnormal = bits_of(static_cast<float>(m) * 0x1p-9f);  // 2^-6 * m/8
  const uint32_t mag = select(e == 0, subnormal, normal);
  return float_of(select((c & 0x7Fu) == 0x7Fu, kQuietNanBits, mag) | sign);
}

struct Fp8Scale {
  float scale;    // what travels, and what the receiver multiplies the codes by
  float inverse;  // what the sender multiplies the values by
};

// The scale of n values (the group's channels; header: special groups).
inline Fp8Scale fp8_scale(const float* __restrict x, int n) {
  // The largest magnitude as integer bits: a NaN anywhere gives a NaN amax whatever the order (a
  // float max would not).
  int32_t amax_bits = 0;
  for (int i = 0; i < n; ++i) {
    const int32_t m = magnitude_bits(x[i]);
    amax_bits = m > amax_bits ? m : amax_bits;
  }
  if (amax_bits == 0) return {1.0f, 1.0f};
  float scale = float_of(static_cast<uint32_t>(amax_bits)) / kE4m3Max;
  if (scale < FLT_MIN) scale = FLT_MIN;  // false for NaN, which stays NaN
  return {scale, 1.0f / scale};
}

// bf16 values go through a stack block of this many, so that the byte buffer is written and read
// with one memcpy per block (no uint16 access to uint8 storage). 1 KiB blocks encoded rows of
// H = 4096 about 1.5x faster than 256 B or 4 KiB ones (x86-64, glibc memcpy).
constexpr int kBf16Block = 512;

// One bf16 row's values: x [H float32] -> dst [H uint16].
void encode_bf16_values(const float* __restrict x, int hidden, uint8_t* __restrict dst) {
  uint16_t block[kBf16Block];
  for (int c0 = 0; c0 < hidden; c0 += kBf16Block) {
    const int n = std::min(kBf16Block, hidden - c0);
    for (int i = 0; i < n; ++i) block[i] = bf16_round(x[c0 + i]);
    std::memcpy(dst + 2 * static_cast<int64_t>(c0), block, sizeof(uint16_t) * n);
  }
}

// src [H uint16] -> x [H float32].
void decode_bf16_values(const uint8_t* __restrict src, int hidden, float* __restrict x) {
  uint16_t block[kBf16Block];
  for (int c0 = 0; c0 < hidden; c0 += kBf16Block) {
    const int n = std::min(kBf16Block, hidden - c0);
    std::memcpy(block, src + 2 * static_cast<int64_t>(c0), sizeof(uint16_t) * n);
    for (int i = 0; i < n; ++i) x[c0 + i] = bf16_value(block[i]);
  }
}

// One fp8 row's values: x [H float32] -> codes [H e4m3] and scales [G float32].
void encode_fp8_values(const float* __restrict x, int hidden, uint8_t* __restrict codes,
                       uint8_t* __restrict scales) {
  for (int c0 = 0, g = 0; c0 < hidden; c0 += kFp8GroupChannels, ++g) {
    const int n = std::min(kFp8GroupChannels, hidden - c0);
    const Fp8Scale s = fp8_scale(x + c0, n);
    for (int i = 0; i < n; ++i) codes[c0 + i] = e4m3_round(x[c0 + i] * s.inverse);
    std::memcpy(scales + sizeof(float) * g, &s.scale, sizeof(float));
  }
}

// codes [H e4m3] and scales [G float32] -> x [H float32].
void decode_fp8_values(const uint8_t* __restrict codes, const uint8_t* __restrict scales,
                       int hidden, float* __restrict x) {
  for (int c0 = 0, g = 0; c0 < hidden; c0 += kFp8GroupChannels, ++g) {
    const int n = std::min(kFp8GroupChannels, hidden - c0);
    float scale;
    std::memcpy(&scale, scales + sizeof(float) * g, sizeof(float));
    for (int i = 0; i < n; ++i) x[c0 + i] = e4m3_value(codes[c0 + i]) * scale;
  }
}

void check_format(const RowFormat& format) {
  C2R_CHECK(format.hidden >= 0 && format.inline_floats >= 0,
            "row format: hidden (" << format.hidden << ") and inline floats ("
                                   << format.inline_floats << ") must not be negative");
}

// Where the parts of a row start, in bytes from the row's start (layout in the header).
struct RowOffsets {
  int64_t scales = 0;   // fp8 only
  int64_t inlined = 0;  // the inline floats
};

RowOffsets row_offsets(const RowFormat& format) {
  const int64_t h = format.hidden;
  switch (format.type) {
    case PayloadType::kFp32:
      return {4 * h, 4 * h};
    case PayloadType::kBf16:
      return {round_up4(2 * h), round_up4(2 * h)};
    case PayloadType::kFp8:
      return {round_up4(h), round_up4(h) + 4 * fp8_groups(format.hidden)};
  }
  return {};
}

}  // namespace

std::string to_string(PayloadType type) {
  switch (type) {
    case PayloadType::kFp32:
      return "fp32";
    case PayloadType::kBf16:
      return "bf16";
    case PayloadType::kFp8:
      return "fp8";
  }
  return "unknown";
}

PayloadType parse_payload_type(const std::string& name) {
  for (PayloadType type : {PayloadType::kFp32, PayloadType::kBf16, PayloadType::kFp8}) {
    if (name == to_string(type)) return type;
  }
  throw Error("unknown payload type '" + name + "' (known: fp32, bf16, fp8)");
}

PayloadType combine_type(PayloadType dispatch) {
  return dispatch == PayloadType::kFp8 ? PayloadType::kBf16 : dispatch;
}

double unit_roundoff(PayloadType type) {
  switch (type) {
    case PayloadType::kFp32:
      return 0.0;
    case PayloadType::kBf16:
      return std::ldexp(1.0, -8);
    case PayloadType::kFp8:
      return std::ldexp(1.0, -4);
  }
  return 0.0;
}

int64_t RowFormat::payload_bytes() const {
  const int64_t h = hidden;
  switch (type) {
    case PayloadType::kFp32:
      return 4 * h;
    case PayloadType::kBf16:
      return 2 * h;
    case PayloadType::kFp8:
      return h + 4 * fp8_groups(hidden);
  }
  return 0;
}

int64_t RowFormat::row_bytes() const {
  return row_offsets(*this).inlined + 4 * static_cast<int64_t>(inline_floats);
}

uint16_t float_to_bf16(float x) {
  return bf16_round(x);
}

float bf16_to_float(uint16_t b) {
  return bf16_value(b);
}

uint8_t float_to_e4m3(float x) {
  return e4m3_round(x);
}

float e4m3_to_float(uint8_t b) {
  return e4m3_value(b);
}

void encode_rows(const RowFormat& format, const float* src, int64_t rows, uint8_t* dst) {
  check_format(format);
  const int h = format.hidden;
  const int64_t width = static_cast<int64_t>(h) + format.inline_floats;
  const int64_t row_bytes = format.row_bytes();
  if (format.type == PayloadType::kFp32) {  // the layout is the float rows themselves
    if (rows > 0) std::memcpy(dst, src, static_cast<size_t>(rows * row_bytes));
    return;
  }
  const RowOffsets at = row_offsets(format);
  // Padding: between the values and what follows (bf16: 0 or 2 bytes; fp8: 0 to 3 bytes).
  const int64_t values_bytes = format.type == PayloadType::kBf16 ? 2 * int64_t{h} : int64_t{h};
  const int64_t pad_bytes = round_up4(values_bytes) - values_bytes;
  const size_t inline_bytes = sizeof(float) * static_cast<size_t>(format.inline_floats);
  for (int64_t r = 0; r < rows; ++r) {
    const float* x = src + r * width;
    uint8_t* row = dst + r * row_bytes;
    if (format.type == PayloadType::kBf16) {
      encode_bf16_values(x, h, row);
    } else {
      encode_fp8_values(x, h, row, row + at.scales);
    }
    if (pad_bytes > 0) std::memset(row + values_bytes, 0, static_cast<size_t>(pad_bytes));
    if (inline_bytes > 0) std::memcpy(row + at.inlined, x + h, inline_bytes);
  }
}

void decode_rows(const RowFormat& format, const uint8_t* src, int64_t rows, float* dst) {
  check_format(format);
  const int h = format.hidden;
  const int64_t width = static_cast<int64_t>(h) + format.inline_floats;
  const int64_t row_bytes = format.row_bytes();
  if (format.type == PayloadType::kFp32) {
    if (rows > 0) std::memcpy(dst, src, static_cast<size_t>(rows * row_bytes));
    return;
  }
  const RowOffsets at = row_offsets(format);
  const size_t inline_bytes = sizeof(float) * static_cast<size_t>(format.inline_floats);
  for (int64_t r = 0; r < rows; ++r) {
    const uint8_t* row = src + r * row_bytes;
    float* x = dst + r * width;
    if (format.type == PayloadType::kBf16) {
      decode_bf16_values(row, h, x);
    } else {
      decode_fp8_values(row, row + at.scales, h, x);
    }
    if (inline_bytes > 0) std::memcpy(x + h, row + at.inlined, inline_bytes);
  }
}

void round_trip_rows(const RowFormat& format, float* rows, int64_t count) {
  check_format(format);
  if (format.type == PayloadType::kFp32) return;  // fp32 rows travel as they are
  const int h = format.hidden;
  const int64_t width = static_cast<int64_t>(h) + format.inline_floats;
  for (int64_t r = 0; r < count; ++r) {
    float* x = rows + r * width;
    if (format.type == PayloadType::kBf16) {
      for (int i = 0; i < h; ++i) x[i] = bf16_value(bf16_round(x[i]));
    } else {
      // The same operations as encode then decode, in the same order: bit-for-bit the same.
      for (int c0 = 0; c0 < h; c0 += kFp8GroupChannels) {
        const int n = std::min(kFp8GroupChannels, h - c0);
        const Fp8Scale s = fp8_scale(x + c0, n);
        for (int i = 0; i < n; ++i) {
          x[c0 + i] = e4m3_value(e4m3_round(x[c0 + i] * s.inverse)) * s.scale;
        }
      }
    }
  }
}

}  // namespace c2r
