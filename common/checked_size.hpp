#pragma once
// Products of counts that the command line can make arbitrarily large (tokens, hidden size,
// samples, repetitions), formed with a check: a product beyond int64_t is reported as not fitting
// instead of wrapping around to a small or negative size that a later allocation would trust.
// Generic integer arithmetic; it lives here until common/ takes it.

#include <cstdint>
#include <initializer_list>
#include <limits>
#include <optional>

namespace c2r {

// a * b, or nullopt when a or b is negative (no count is) or the product does not fit in int64_t.
inline std::optional<int64_t> checked_mul(int64_t a, int64_t b) {
  int64_t product = 0;
  if (a < 0 || b < 0 || __builtin_mul_overflow(a, b, &product)) return std::nullopt;
  return product;
}

// a + b, or nullopt when a or b is negative or the sum does not fit in int64_t.
inline std::optional<int64_t> checked_add(int64_t a, int64_t b) {
  int64_t sum = 0;
  if (a < 0 || b < 0 || __builtin_add_overflow(a, b, &sum)) return std::nullopt;
  return sum;
}

// The product of `factors` (1 for none), or nullopt when a factor is negative or a partial
// product does not fit in int64_t. Checking each step is enough: with non-negative factors the
// partial products only grow, so no later factor can bring an overflowed one back.
inline std::optional<int64_t> checked_product(std::initializer_list<int64_t> factors) {
  int64_t product = 1;
  for (int64_t factor : factors) {
    const std::optional<int64_t> next = checked_mul(product, factor);
    if (!next) return std::nullopt;
    product = *next;
  }
  return product;
}

// checked_product as a byte count for memory estimates: +infinity when it does not fit, so that
// the estimate exceeds every limit instead of wrapping around below it.
inline double product_bytes(std::initializer_list<int64_t> factors) {
  const std::optional<int64_t> product = checked_product(factors);
  return product ? static_cast<double>(*product) : std::numeric_limits<double>::infinity();
}

// `count` elements of the product of `factors` bytes each; +infinity when `count` did not fit
// itself (nullopt from an earlier checked product), or the whole does not.
inline double bytes_of(std::optional<int64_t> count, std::initializer_list<int64_t> factors) {
  const std::optional<int64_t> each = checked_product(factors);
  const std::optional<int64_t> all = count && each ? checked_mul(*count, *each) : std::nullopt;
  return all ? static_cast<double>(*all) : std::numeric_limits<double>::infinity();
}

}  // namespace c2r
