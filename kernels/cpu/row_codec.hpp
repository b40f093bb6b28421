#pragma once
// The payload codec of the rows an MoE layer exchanges. Production systems do not send float32
// rows: DeepEP dispatches fp8 (E4M3, one float32 scale per 128 channels) and combines in bf16.
// Encoding and decoding run inside the timed permute steps on every row, so the loops are written
// for the auto-vectorizer: branch-free rounding on the float's bits, no call per element.
//
// Row layout (row_bytes() bytes travel per row; every offset below is a multiple of 4 when the
// row starts at one, so rows stay float-aligned back to back). H = hidden, I = inline_floats,
// G = ceil(H / 128), pad(n) = n rounded up to a multiple of 4:
//   fp32: [H float32][I float32]                              row_bytes = 4H + 4I
//   bf16: [H uint16][pad(2H) - 2H zero bytes][I float32]      row_bytes = pad(2H) + 4I
//   fp8:  [H e4m3][pad(H) - H zero bytes][G float32 scales][I float32]
//                                                             row_bytes = pad(H) + 4G + 4I
// payload_bytes() counts the values and scales only (fp32 4H, bf16 2H, fp8 H + 4G), not the
// padding. Multi-byte values are stored in the host's byte order (both ends of the exchange are
// the same kind of machine).
//
// fp8 groups: channels [128 g, 128 g + 128) of a row share scale g = amax / 448, amax the largest
// |x| of the group, so the group's largest value maps to E4M3's largest finite value. Each value is
// stored as e4m3(x * (1 / scale)) and decodes to e4m3_to_float(code) * scale. Special groups:
//   - amax == 0: scale 1 (every code is ±0);
//   - amax / 448 below FLT_MIN (a group of denormal-sized values): scale FLT_MIN, so 1 / scale
//     stays finite and the scale keeps full precision;
//   - a NaN or an infinity in the group: the scale is NaN (any NaN) or +inf (infinities only), and
//     every value of the group decodes to NaN (0 * inf and NaN * anything). Defined, never UB.
// Error of a decoded value (derivation in tests/unit/row_codec_test.cpp; docs/METRICS.md):
//   bf16: |err| <= 2^-8 |x| (8 significand bits, round to nearest even), for |x| >= 2^-126 short
//         of the values that round to inf
//   fp8:  |err| <= 2^-4 |x| + 2^-10 scale (normals: 3 mantissa bits; subnormals: spacing 2^-9),
//         for groups of finite values

#include <cstdint>
#include <string>

namespace c2r {

enum class PayloadType { kFp32, kBf16, kFp8 };

// "fp32", "bf16", "fp8".
std::string to_string(PayloadType type);
// The inverse of to_string; throws c2r::Error naming the known types for any other name.
PayloadType parse_payload_type(const std::string& name);
// The type of the combine (return) rows for a dispatch type: fp8 dispatch combines in bf16 (the
// expert outputs are summed by the receiver, where fp8's 3 mantissa bits would cost too much);
// fp32 and bf16 return in their own type.
PayloadType combine_type(PayloadType dispatch);
// The unit roundoff of rounding a value to `type`, to nearest: 2^-p for p significand bits (bf16
// 2^-8, e4m3 2^-4); 0 for fp32, which needs no rounding (the exchange moves the floats as they
// are).
double unit_roundoff(PayloadType type);

constexpr int kFp8GroupChannels = 128;  // channels sharing one fp8 scale

// One exchanged row: `hidden` payload values in `type` (fp8: then ceil(hidden / 128) float32
// scales), then `inline_floats` float32 values carried exactly (the dedup row's expert ids and
// gate weights). Layout and arithmetic at the top of this file.
struct RowFormat {
  PayloadType type = PayloadType::kFp32;
  int hidden = 0;
  int inline_floats = 0;
  int64_t payload_bytes() const;  // hidden values (+ fp8 scales), no padding
  int64_t row_bytes() const;      // payload_bytes() + 4 * inline_floats, padded to a multiple of 4
};

// src: [rows x (hidden + inline_floats)] float32 rows; dst: [rows x row_bytes()] bytes. Padding
// bytes are written as zeros. Throws c2r::Error for a negative hidden or inline_floats.
void encode_rows(const RowFormat& format, const float* src, int64_t rows, uint8_t* dst);
// src: [rows x row_bytes()] bytes as encode_rows writes them; dst: [rows x (hidden +
// inline_floats)] float32.
void decode_rows(const RowFormat& format, const uint8_t* src, int64_t rows, float* dst);

// One value's rounding, exposed for tests and for the check reference.
// Round to nearest, ties to even; NaN stays NaN (made quiet, sign kept), ±inf stays ±inf, and
// finite values past bf16's largest round to ±inf as IEEE rounding does.
uint16_t float_to_bf16(float x);
float bf16_to_float(uint16_t b);
// OCP FP8 E4M3FN: bias 7, largest finite 448, no infinities, NaN = 0x7F / 0xFF. Round to nearest
// even; finite values and infinities past 448 saturate to ±448; NaN -> 0x7F.
uint8_t float_to_e4m3(float x);
float e4m3_to_float(uint8_t b);

// Replaces each payload value of `count` rows [count x (hidden + inline_floats)] float32 by the
// value it takes after encode_rows + decode_rows (bit for bit), in place: the inline floats are
// unchanged. For reference computations that must see exactly what the exchange delivered.
void round_trip_rows(const RowFormat& format, float* rows, int64_t count);

}  // namespace c2r
