// The .npy reader (model/npy.hpp): the arrays NumPy writes are read back exactly, and every file it
// does not read is refused with one message naming the file and the problem.
#include <gtest/gtest.h>

#include <cstring>
#include <string>
#include <vector>

#include "common/error.hpp"
#include "model/npy.hpp"

namespace c2r {
namespace {

// The message parse_npy refuses `bytes` with ("" when it accepts them).
std::string refusal(const std::string& bytes) {
  try {
    parse_npy(bytes, "t.npy");
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

void expect_refused(const std::string& bytes, const std::string& needle) {
  const std::string message = refusal(bytes);
  EXPECT_NE(message.find(needle), std::string::npos) << "message: '" << message << "'";
  EXPECT_EQ(message.rfind("t.npy: ", 0), 0u) << message;  // names the file first
}

// A file of the given version whose header is `header` verbatim, then `data` bytes.
std::string with_header(const std::string& header, const std::string& data, int major = 1) {
  std::string out = std::string("\x93NUMPY", 6) + static_cast<char>(major) + '\0';
  const uint32_t length = static_cast<uint32_t>(header.size());
  for (int i = 0; i < (major == 1 ? 2 : 4); ++i)
    out.push_back(static_cast<char>(length >> (8 * i)));
  return out + header + data;
}

std::string header_of(const std::string& dict) {
  return dict + std::string(16, ' ') + "\n";
}

TEST(Npy, ReadsBackWhatItWritesForEachType) {
  const std::vector<int32_t> i32 = {3, -1, 7, 2147483647, -2147483647 - 1, 0};
  // An NpyArray views the bytes it was parsed from: they must outlive it.
  const std::string i32_file = npy_file_bytes(NpyType::kInt32, {3, 2}, i32.data());
  const NpyArray a = parse_npy(i32_file, "a.npy");
  ASSERT_EQ(a.type, NpyType::kInt32);
  EXPECT_EQ(a.shape, (std::vector<int64_t>{3, 2}));
  ASSERT_EQ(a.count, 6);
  for (int i = 0; i < 6; ++i) EXPECT_EQ(a.integer(i), i32[i]);

  const std::vector<int64_t> i64 = {int64_t{1} << 40, -5, 9};
  const std::string i64_file = npy_file_bytes(NpyType::kInt64, {3}, i64.data());
  const NpyArray b = parse_npy(i64_file, "b.npy");
  EXPECT_EQ(b.shape_text(), "(3,)");
  for (int i = 0; i < 3; ++i) EXPECT_EQ(b.integer(i), i64[i]);

  const std::vector<float> f32 = {0.5f, -1.25f, 3.0e38f, 1e-40f};
  const std::string f32_file = npy_file_bytes(NpyType::kFloat32, {2, 1, 2}, f32.data());
  const NpyArray c = parse_npy(f32_file, "c.npy");
  EXPECT_EQ(c.shape_text(), "(2, 1, 2)");
  for (int i = 0; i < 4; ++i) EXPECT_EQ(c.real(i), f32[i]);

  // The header is padded as NumPy pads it: data starts at a multiple of 64 bytes.
  EXPECT_EQ((i64_file.size() - 3 * 8) % 64, 0u);
  // Empty and 0-d arrays are arrays too (a trace refuses them for its own reasons).
  EXPECT_EQ(parse_npy(npy_file_bytes(NpyType::kInt32, {0, 4}, nullptr), "e.npy").count, 0);
  const int32_t one = 42;
  const std::string scalar_file = npy_file_bytes(NpyType::kInt32, {}, &one);
  const NpyArray scalar = parse_npy(scalar_file, "s.npy");
  EXPECT_TRUE(scalar.shape.empty());
  EXPECT_EQ(scalar.integer(0), 42);
}

TEST(Npy, ReadsVersionsTwoAndThreeAndTheHeadersNumPyMayWrite) {
  const std::string data(8, '\0');
  for (int major : {2, 3}) {
    const std::string file = with_header(
        header_of("{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }"), data, major);
    EXPECT_EQ(parse_npy(file, "v.npy").count, 2) << major;
  }
  // Keys in another order, double quotes, no trailing comma, spaces around the separators.
  const std::string file = with_header(
      header_of("{ \"shape\" : ( 1 , 2 ) , \"fortran_order\":False,\"descr\":\"<i4\"}"), data);
  const NpyArray array = parse_npy(file, "o.npy");
  EXPECT_EQ(array.shape, (std::vector<int64_t>{1, 2}));
  EXPECT_EQ(array.type, NpyType::kInt32);
}

TEST(Npy, RefusesWhatIsNotAnNpyFile) {
  expect_refused("", "not a .npy file");
  expect_refused("{\"schema\": \"c2rbench.trace\"}", "not a .npy file");
  expect_refused(std::string("\x93NUMPX\x01\x00", 8), "not a .npy file");
  expect_refused(std::string("\x93NUMPY", 6), "truncated .npy file (no format version)");
  expect_refused(std::string("\x93NUMPY\x01\x00\x10", 9), "truncated .npy file (no header length)");
  expect_refused(std::string("\x93NUMPY\x04\x00\x00\x00", 10), "format version 4.0");
  expect_refused(std::string("\x93NUMPY\x01\x01\x00\x00", 10), "format version 1.1");
  // A header length past the end of the file.
  expect_refused(std::string("\x93NUMPY\x01\x00\xff\x00{'descr'", 17), "truncated .npy file");
  expect_refused(std::string("\x93NUMPY\x02\x00\x00\x00\x00\x01", 12), "truncated .npy file");
}

TEST(Npy, RefusesMalformedHeaders) {
  const std::string data(8, '\0');
  const auto header = [&](const std::string& dict) { return with_header(header_of(dict), data); };
  expect_refused(with_header("{'descr': '<i4', 'fortran_order': False, 'shape': (2,), }", data),
                 "does not end with a newline");
  expect_refused(header("['descr', '<i4']"), "does not start with '{'");
  expect_refused(header("{'descr': '<i4', 'shape': (2,), }"), "lacks the key 'fortran_order'");
  expect_refused(header("{'descr': '<i4', 'fortran_order': False}"), "lacks the key 'shape'");
  expect_refused(header("{'fortran_order': False, 'shape': (2,)}"), "lacks the key 'descr'");
  expect_refused(header("{'descr': '<i4', 'descr': '<i4', 'fortran_order': False, 'shape': (2,)}"),
                 "lists 'descr' twice");
  expect_refused(header("{'descr': '<i4', 'fortran_order': False, 'shape': (2,), 'align': True}"),
                 "has the key 'align'");
  expect_refused(header("{'descr': [('a', '<i4')], 'fortran_order': False, 'shape': (2,)}"),
                 "structured arrays are not supported");
  expect_refused(header("{'descr': '<i4', 'fortran_order': false, 'shape': (2,)}"),
                 "'fortran_order' is not True or False");
  expect_refused(header("{'descr': '<i4', 'fortran_order': False, 'shape': (2)}"),
                 "'shape' (2) is not a tuple: a 1-d shape is written (2,)");
  expect_refused(header("{'descr': '<i4', 'fortran_order': False, 'shape': [2]}"),
                 "'shape' is not a tuple");
  expect_refused(header("{'descr': '<i4', 'fortran_order': False, 'shape': (-2,)}"),
                 "'shape' is not a tuple of whole numbers");
  expect_refused(header("{'descr': '<i4', 'fortran_order': False, 'shape': (2,) 'x'}"),
                 "has no ',' or '}' after the value of 'shape'");
  expect_refused(header("{'descr': '<i4', 'fortran_order': False, 'shape': (2,)} x"),
                 "has text after its '}'");
  expect_refused(header("{'descr': '<i4\\n', 'fortran_order': False, 'shape': (2,)}"),
                 "escape or control character");
  expect_refused(header("{'descr': '<i4', 'fortran_order': False, 'shape': (2,), 'd\xc3\xa9': 1}"),
                 "not ASCII");
  expect_refused(header("{'descr': '<i4', 'fortran_order': False, 'shape': (2,"),
                 "'shape' is not a tuple of whole numbers");
  expect_refused(header("{'descr': '<i4"), "escape or control character");  // the final '\n'
  expect_refused(header("{'descr' '<i4'}"), "has no ':' after 'descr'");
  expect_refused(header("{descr: '<i4'}"), "has no string where a key should be");
}

TEST(Npy, RefusesTypesOrdersAndSizesItDoesNotRead) {
  const std::string data(8, '\0');
  const auto with = [&](const std::string& descr, const std::string& order,
                        const std::string& shape) {
    return with_header(header_of("{'descr': '" + descr + "', 'fortran_order': " + order +
                                 ", 'shape': " + shape + ", }"),
                       data);
  };
  for (const char* descr : {">i4", "<f8", "|u1", "<i2", "<f2", "|b1", "<U4"}) {
    expect_refused(with(descr, "False", "(2,)"), "descr '" + std::string(descr) + "'");
  }
  expect_refused(with("<i4", "True", "(2,)"), "Fortran (column-major) order");
  // Truncated data and trailing bytes: exactly prod(shape) * item bytes.
  expect_refused(with("<i4", "False", "(3,)"), "needs 12 (truncated file)");
  expect_refused(with("<i4", "False", "(1,)"), "needs 4 (trailing bytes)");
  expect_refused(with("<i8", "False", "(2,)"), "needs 16 (truncated file)");
  // Dimensions bounded, their product checked: neither wraps around to a size that fits.
  expect_refused(with("<i4", "False", "(1099511627777,)"), "a dimension above");
  expect_refused(with("<i4", "False", "(99999999999999999999999,)"), "a dimension above");
  expect_refused(with("<i4", "False", "(1099511627776, 1099511627776)"),
                 "more elements than a file can hold");
  expect_refused(with("<i8", "False", "(1073741824, 1073741824, 8)"),
                 "more elements than a file can hold");
  std::string many = "(";
  for (int i = 0; i < 33; ++i) many += "1, ";
  expect_refused(with("<i4", "False", many + ")"), "more than 32 dimensions");
  // A dimension of 0 makes no elements, whatever the others.
  expect_refused(with("<i4", "False", "(0, 1099511627776)"), "is 8 bytes; shape");
}

}  // namespace
}  // namespace c2r
