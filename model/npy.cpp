#include "model/npy.hpp"

#include <cstring>
#include <optional>
#include <sstream>

#include "common/checked_size.hpp"
#include "common/error.hpp"

namespace c2r {

namespace {

constexpr char kMagic[] = "\x93NUMPY";
constexpr size_t kMagicBytes = 6;

// The unsigned little-endian number in `bytes` bytes at `p` (whatever the host's order).
uint64_t little_endian(const char* p, int bytes) {
  uint64_t value = 0;
  for (int i = bytes - 1; i >= 0; --i) value = (value << 8) | static_cast<unsigned char>(p[i]);
  return value;
}

void put_little_endian(std::string& out, uint64_t value, int bytes) {
  for (int i = 0; i < bytes; ++i) out.push_back(static_cast<char>((value >> (8 * i)) & 0xff));
}

std::string shape_text(const std::vector<int64_t>& shape) {
  std::ostringstream out;
  out << "(";
  for (size_t i = 0; i < shape.size(); ++i) out << (i > 0 ? ", " : "") << shape[i];
  out << (shape.size() == 1 ? ",)" : ")");
  return out.str();
}

// The header's fields, as the dict literal NumPy writes gives them:
//   {'descr': '<i4', 'fortran_order': False, 'shape': (3, 2), }
struct Header {
  std::string descr;
  bool fortran_order = false;
  std::vector<int64_t> shape;
};

// A parser of that dict, strict where Python's literal syntax is: a 1-d shape is "(3,)", not "(3)".
class HeaderParser {
 public:
  HeaderParser(const std::string& text, const std::string& source) : text_(text), source_(source) {}

  Header parse() {
    for (unsigned char c : text_) {
      if (c >= 0x80) fail("holds a byte that is not ASCII");
    }
    if (text_.empty() || text_.back() != '\n') fail("does not end with a newline");
    skip_space();
    expect('{', "does not start with '{'");
    Header header;
    bool seen_descr = false, seen_fortran = false, seen_shape = false;
    for (;;) {
      skip_space();
      if (take('}')) break;
      const std::string key = string_literal("a key");
      skip_space();
      expect(':', "has no ':' after '" + key + "'");
      skip_space();
      if (key == "descr") {
        if (seen_descr) fail("lists 'descr' twice");
        seen_descr = true;
        if (peek() != '\'' && peek() != '"') {
          fail("'descr' is not a string such as '<i4' (structured arrays are not supported)");
        }
        header.descr = string_literal("'descr'");
      } else if (key == "fortran_order") {
        if (seen_fortran) fail("lists 'fortran_order' twice");
        seen_fortran = true;
        header.fortran_order = boolean();
      } else if (key == "shape") {
        if (seen_shape) fail("lists 'shape' twice");
        seen_shape = true;
        header.shape = tuple();
      } else {
        fail("has the key '" + key + "' (known: descr, fortran_order, shape)");
      }
      skip_space();
      if (take(',')) continue;
      expect('}', "has no ',' or '}' after the value of '" + key + "'");
      break;
    }
    if (!seen_descr || !seen_fortran || !seen_shape) {
      fail(std::string("lacks the key '") +
           (!seen_descr     ? "descr"
            : !seen_fortran ? "fortran_order"
                            : "shape") +
           "'");
    }
    skip_space();
    if (pos_ != text_.size()) fail("has text after its '}'");
    return header;
  }

 private:
  [[noreturn]] void fail(const std::string& what) const {
    throw Error(source_ + ": the .npy header " + what);
  }
  char peek() const { return pos_ < text_.size() ? text_[pos_] : '\0'; }
  bool take(char c) {
    if (peek() != c || pos_ >= text_.size()) return false;
    ++pos_;
    return true;
  }
  void expect(char c, const std::string& what) {
    if (!take(c)) fail(what);
  }
  void skip_space() {
    while (pos_ < text_.size() && (text_[pos_] == ' ' || text_[pos_] == '\t' ||
                                   text_[pos_] == '\n' || text_[pos_] == '\r')) {
      ++pos_;
    }
  }
  // A Python string literal without escapes ('...' or "...").
  std::string string_literal(const std::string& what) {
    const char quote = peek();
    if (quote != '\'' && quote != '"') fail("has no string where " + what + " should be");
    ++pos_;
    std::string value;
    for (;;) {
      if (pos_ >= text_.size()) fail("ends inside a string");
      const char c = text_[pos_++];
      if (c == quote) return value;
      if (c == '\\' || static_cast<unsigned char>(c) < 0x20) {
        fail("has an escape or control character in a string");
      }
      value.push_back(c);
    }
  }
  bool boolean() {
    if (text_.compare(pos_, 4, "True") == 0) {
      pos_ += 4;
      return true;
    }
    if (text_.compare(pos_, 5, "False") == 0) {
      pos_ += 5;
      return false;
    }
    fail("'fortran_order' is not True or False");
  }
  // A dimension: decimal digits, at most kMaxNpyDimension.
  int64_t dimension() {
    const size_t start = pos_;
    int64_t value = 0;
    while (pos_ < text_.size() && text_[pos_] >= '0' && text_[pos_] <= '9') {
      value = value * 10 + (text_[pos_] - '0');
      if (value > kMaxNpyDimension) {
        fail("'shape' has a dimension above " + std::to_string(kMaxNpyDimension));
      }
      ++pos_;
    }
    if (pos_ == start) fail("'shape' is not a tuple of whole numbers such as (3, 2)");
    return value;
  }
  std::vector<int64_t> tuple() {
    expect('(', "'shape' is not a tuple such as (3, 2)");
    std::vector<int64_t> shape;
    skip_space();
    if (take(')')) return shape;  // a 0-d array
    for (;;) {
      shape.push_back(dimension());
      if (static_cast<int>(shape.size()) > kMaxNpyDims) {
        fail("'shape' has more than " + std::to_string(kMaxNpyDims) + " dimensions");
      }
      skip_space();
      if (take(',')) {
        skip_space();
        if (take(')')) return shape;
        continue;
      }
      expect(')', "'shape' is not a tuple such as (3, 2)");
      if (shape.size() == 1)
        fail("'shape' (" + std::to_string(shape[0]) +
             ") is not a tuple: "
             "a 1-d shape is written (" +
             std::to_string(shape[0]) + ",)");
      return shape;
    }
  }

  const std::string& text_;
  const std::string& source_;
  size_t pos_ = 0;
};

}  // namespace

std::string npy_descr(NpyType type) {
  switch (type) {
    case NpyType::kInt32:
      return "<i4";
    case NpyType::kInt64:
      return "<i8";
    case NpyType::kFloat32:
      return "<f4";
  }
  return "?";
}

int npy_item_bytes(NpyType type) {
  return type == NpyType::kInt64 ? 8 : 4;
}

int64_t NpyArray::integer(int64_t i) const {
  if (type == NpyType::kInt64) {
    return static_cast<int64_t>(little_endian(data + 8 * i, 8));
  }
  return static_cast<int32_t>(static_cast<uint32_t>(little_endian(data + 4 * i, 4)));
}

float NpyArray::real(int64_t i) const {
  const uint32_t bits = static_cast<uint32_t>(little_endian(data + 4 * i, 4));
  float value;
  std::memcpy(&value, &bits, sizeof(value));
  return value;
}

std::string NpyArray::shape_text() const {
  return c2r::shape_text(shape);
}

NpyArray parse_npy(const std::string& bytes, const std::string& source) {
  C2R_CHECK(bytes.size() >= kMagicBytes && bytes.compare(0, kMagicBytes, kMagic) == 0,
            source << ": not a .npy file (it does not start with \\x93NUMPY)");
  C2R_CHECK(bytes.size() >= kMagicBytes + 2, source << ": truncated .npy file (no format version)");
  const int major = static_cast<unsigned char>(bytes[6]);
  const int minor = static_cast<unsigned char>(bytes[7]);
  C2R_CHECK(major >= 1 && major <= 3 && minor == 0,
            source << ": .npy format version " << major << "." << minor
                   << " is not supported (known: 1.0, 2.0, 3.0)");
  // Version 1.0 gives the header's length in 2 bytes; 2.0 and 3.0 (UTF-8 header) in 4.
  const int length_bytes = major == 1 ? 2 : 4;
  const size_t preamble = kMagicBytes + 2 + length_bytes;
  C2R_CHECK(bytes.size() >= preamble, source << ": truncated .npy file (no header length)");
  const uint64_t header_bytes = little_endian(&bytes[kMagicBytes + 2], length_bytes);
  C2R_CHECK(header_bytes <= bytes.size() - preamble,
            source << ": truncated .npy file: its header is " << header_bytes
                   << " bytes, the file has " << bytes.size() - preamble << " after the preamble");
  const Header header = HeaderParser(bytes.substr(preamble, header_bytes), source).parse();

  NpyArray array;
  if (header.descr == "<i4") {
    array.type = NpyType::kInt32;
  } else if (header.descr == "<i8") {
    array.type = NpyType::kInt64;
  } else if (header.descr == "<f4") {
    array.type = NpyType::kFloat32;
  } else {
    throw Error(source + ": .npy descr '" + header.descr +
                "' is not supported (known: '<i4', '<i8', '<f4': little-endian int32, int64, "
                "float32)");
  }
  C2R_CHECK(!header.fortran_order,
            source << ": the .npy array is in Fortran (column-major) order; save a C-ordered "
                      "array (numpy.ascontiguousarray)");
  array.shape = header.shape;
  std::optional<int64_t> count = 1;
  for (int64_t dim : array.shape) count = count ? checked_mul(*count, dim) : std::nullopt;
  const std::optional<int64_t> needed =
      count ? checked_mul(*count, npy_item_bytes(array.type)) : std::nullopt;
  C2R_CHECK(needed, source << ": .npy shape " << shape_text(array.shape)
                           << " has more elements than a file can hold");
  const uint64_t data_bytes = bytes.size() - preamble - header_bytes;
  C2R_CHECK(data_bytes == static_cast<uint64_t>(*needed),
            source << ": .npy data is " << data_bytes << " bytes; shape " << shape_text(array.shape)
                   << " of " << header.descr << " needs " << *needed
                   << (data_bytes < static_cast<uint64_t>(*needed) ? " (truncated file)"
                                                                   : " (trailing bytes)"));
  array.count = *count;
  array.data = bytes.data() + preamble + header_bytes;
  return array;
}

std::string npy_file_bytes(NpyType type, const std::vector<int64_t>& shape, const void* data) {
  std::string header = "{'descr': '" + npy_descr(type) +
                       "', 'fortran_order': False, 'shape': " + shape_text(shape) + ", }";
  // Magic, version, length (10 bytes) and the header padded with spaces to a multiple of 64,
  // ending with '\n'.
  const size_t unpadded = kMagicBytes + 4 + header.size() + 1;
  header.append((64 - unpadded % 64) % 64, ' ');
  header.push_back('\n');
  std::string out(kMagic, kMagicBytes);
  out.push_back('\x01');
  out.push_back('\x00');
  put_little_endian(out, header.size(), 2);
  out += header;
  int64_t count = 1;
  for (int64_t dim : shape) count *= dim;
  const int item = npy_item_bytes(type);
  const char* bytes = static_cast<const char*>(data);
  for (int64_t i = 0; i < count; ++i) {
    uint64_t value = 0;
    if (item == 8) {
      std::memcpy(&value, bytes + 8 * i, 8);
    } else {
      uint32_t word;
      std::memcpy(&word, bytes + 4 * i, 4);
      value = word;
    }
    put_little_endian(out, value, item);
  }
  return out;
}

}  // namespace c2r
