#include "bench/cache_flush.hpp"

#include <algorithm>
#include <cstring>

#ifdef C2R_HAVE_HWLOC
#include <hwloc.h>
#endif

namespace c2r {

namespace {

// Data and unified caches only (hwloc's L1..L5 types; instruction caches are other types).
int64_t query_largest_cache_bytes() {
  int64_t largest = 0;
#ifdef C2R_HAVE_HWLOC
  hwloc_topology_t topology;
  if (hwloc_topology_init(&topology) != 0) return 0;
  if (hwloc_topology_load(topology) == 0) {
    hwloc_bitmap_t set = hwloc_bitmap_alloc();
    // An unbound process may run on any core: its cpuset is then the whole machine.
    if (set && hwloc_get_cpubind(topology, set, HWLOC_CPUBIND_PROCESS) == 0) {
      for (const hwloc_obj_type_t type : {HWLOC_OBJ_L1CACHE, HWLOC_OBJ_L2CACHE, HWLOC_OBJ_L3CACHE,
                                          HWLOC_OBJ_L4CACHE, HWLOC_OBJ_L5CACHE}) {
        const int count = hwloc_get_nbobjs_by_type(topology, type);
        for (int i = 0; i < count; ++i) {
          const hwloc_obj_t cache = hwloc_get_obj_by_type(topology, type, i);
          if (!cache || !cache->attr || !cache->cpuset) continue;
          if (!hwloc_bitmap_intersects(cache->cpuset, set)) continue;
          largest = std::max(largest, static_cast<int64_t>(cache->attr->cache.size));
        }
      }
    }
    if (set) hwloc_bitmap_free(set);
  }
  hwloc_topology_destroy(topology);
#endif
  return largest;
}

}  // namespace

int64_t largest_cache_bytes() {
  static const int64_t bytes = query_largest_cache_bytes();
  return bytes;
}

int64_t CacheFlusher::bytes_for(int64_t cache_bytes) {
  return cache_bytes > 0 ? 2 * cache_bytes : kUnknownCacheFlushBytes;
}

int64_t CacheFlusher::machine_bytes() {
  return bytes_for(largest_cache_bytes());
}

void CacheFlusher::flush() {
  ++value_;
  std::memset(buffer_.data(), value_, buffer_.size());
  // Read one byte back through a volatile pointer so the writes cannot be elided.
  volatile char* sink = buffer_.data();
  (void)sink[buffer_.size() / 2];
}

}  // namespace c2r
