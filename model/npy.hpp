#pragma once
// A checked reader (and a small writer) of NumPy's .npy files, for routing traces too large to list
// inline (model/routing_trace.hpp). It reads only what a trace needs and refuses the rest, each
// problem one c2r::Error naming the file:
//   - magic "\x93NUMPY", format versions 1.0 (header length u16), 2.0 and 3.0 (u32);
//   - a header that is a Python dict literal with exactly the keys 'descr', 'fortran_order' and
//     'shape', ending with '\n';
//   - descr '<i4', '<i8' or '<f4' (little-endian int32, int64, float32), fortran_order False;
//   - at most kMaxNpyDims dimensions, each at most kMaxNpyDimension, whose product (times the item
//     size) does not overflow, and exactly that many data bytes after the header: a truncated
//     array or trailing bytes are refused.

#include <cstdint>
#include <string>
#include <vector>

namespace c2r {

enum class NpyType { kInt32, kInt64, kFloat32 };

// NumPy's descr of the type: "<i4", "<i8", "<f4".
std::string npy_descr(NpyType type);
int npy_item_bytes(NpyType type);

constexpr int kMaxNpyDims = 32;
constexpr int64_t kMaxNpyDimension = int64_t{1} << 40;

// A parsed array: a view into the file's bytes, valid while they live.
struct NpyArray {
  NpyType type = NpyType::kInt32;
  std::vector<int64_t> shape;  // C order (row-major): the last index varies fastest
  int64_t count = 0;           // elements: the product of `shape` (1 for a 0-d array)
  // [count x item bytes], little-endian: a view into the bytes parse_npy read, which must outlive
  // the array.
  const char* data = nullptr;

  // Element i (0 <= i < count) of an integer array (kInt32, kInt64).
  int64_t integer(int64_t i) const;
  // Element i of a float array (kFloat32).
  float real(int64_t i) const;
  // "(3, 2)", as NumPy prints a shape.
  std::string shape_text() const;
};

// Parses the .npy file `bytes` (a whole file, read as bytes). Throws c2r::Error naming `source`
// and the problem.
NpyArray parse_npy(const std::string& bytes, const std::string& source);

// The bytes of a version 1.0 .npy file holding the elements of `shape` from `data` (an array of
// int32_t, int64_t or float as `type` says, in C order), written little-endian whatever the host,
// with the header padded to a multiple of 64 bytes as NumPy pads it. For tests and seed files.
std::string npy_file_bytes(NpyType type, const std::vector<int64_t>& shape, const void* data);

}  // namespace c2r
