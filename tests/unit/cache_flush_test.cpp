// The cache flush's size: twice the largest cache the process's cores use, as the kernel's sysfs
// describes the caches (hwloc reads the same files; this reads them without hwloc).
#include "bench/cache_flush.hpp"

#include <gtest/gtest.h>
#include <sched.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <string>

namespace c2r {
namespace {

// "32768K" / "1M" / "512" (bytes) as sysfs writes a cache's size.
int64_t sysfs_size_bytes(const std::string& text) {
  size_t used = 0;
  const int64_t value = std::stoll(text, &used);
  const char unit = used < text.size() ? text[used] : '\0';
  if (unit == 'K') return value << 10;
  if (unit == 'M') return value << 20;
  if (unit == 'G') return value << 30;
  return value;
}

std::string read_line(const std::filesystem::path& path) {
  std::ifstream in(path);
  std::string line;
  std::getline(in, line);
  return line;
}

// The largest Data or Unified cache of the CPUs this process may run on; 0 if sysfs has none.
int64_t sysfs_largest_cache_bytes() {
  cpu_set_t allowed;
  CPU_ZERO(&allowed);
  if (sched_getaffinity(0, sizeof(allowed), &allowed) != 0) return 0;
  int64_t largest = 0;
  for (int cpu = 0; cpu < CPU_SETSIZE; ++cpu) {
    if (!CPU_ISSET(cpu, &allowed)) continue;
    const std::filesystem::path caches =
        "/sys/devices/system/cpu/cpu" + std::to_string(cpu) + "/cache";
    std::error_code error;
    for (const auto& index : std::filesystem::directory_iterator(caches, error)) {
      if (index.path().filename().string().rfind("index", 0) != 0) continue;
      const std::string type = read_line(index.path() / "type");
      const std::string size = read_line(index.path() / "size");
      if ((type == "Data" || type == "Unified") && !size.empty()) {
        largest = std::max(largest, sysfs_size_bytes(size));
      }
    }
  }
  return largest;
}

TEST(CacheFlush, WritesTwiceTheLargestCacheOr128MiBWhenUnknown) {
  EXPECT_EQ(CacheFlusher::bytes_for(32 << 20), int64_t{64} << 20);
  EXPECT_EQ(CacheFlusher::bytes_for(1 << 20), int64_t{2} << 20);
  EXPECT_EQ(CacheFlusher::bytes_for(0), CacheFlusher::kUnknownCacheFlushBytes);
  EXPECT_EQ(CacheFlusher::kUnknownCacheFlushBytes, int64_t{128} << 20);
  EXPECT_EQ(CacheFlusher::machine_bytes(), CacheFlusher::bytes_for(largest_cache_bytes()));
}

TEST(CacheFlush, LargestCacheIsTheKernelsLargestDataOrUnifiedCache) {
  const int64_t expected = sysfs_largest_cache_bytes();
  if (expected == 0) GTEST_SKIP() << "sysfs describes no CPU cache here";
#ifndef C2R_HAVE_HWLOC
  GTEST_SKIP() << "built without hwloc: the cache size is unknown (0)";
#endif
  EXPECT_EQ(largest_cache_bytes(), expected);
}

}  // namespace
}  // namespace c2r
