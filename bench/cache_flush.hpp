#pragma once
// Cache eviction before an untimed-prepared, timed iteration: the ceilings and the tuner's
// calibrations start cache-cold, as a layer's phases do after its expert GEMMs have streamed
// their weights through the caches.

#include <cstddef>
#include <cstdint>
#include <vector>

namespace c2r {

// The size in bytes of the largest data or unified CPU cache holding any core of this process's
// binding (hwloc), or 0 where hwloc is absent or reports none. Looked up once per process.
int64_t largest_cache_bytes();

// Evicts the caches by writing a buffer twice the size of the largest cache the rank's cores use
// (twice: a last-level cache that is not strictly LRU, or a victim cache, keeps lines one pass
// would leave behind).
class CacheFlusher {
 public:
  // Written when hwloc reports no cache size: larger than most servers' last-level cache.
  static constexpr int64_t kUnknownCacheFlushBytes = int64_t{128} << 20;
  // The bytes one flush writes when the largest cache holds `cache_bytes` (0: unknown).
  static int64_t bytes_for(int64_t cache_bytes);
  // bytes_for(largest_cache_bytes()): what this process's flusher writes.
  static int64_t machine_bytes();

  CacheFlusher() : buffer_(static_cast<size_t>(machine_bytes())) {}
  void flush();

 private:
  std::vector<char> buffer_;
  char value_ = 0;
};

}  // namespace c2r
