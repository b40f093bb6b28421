#pragma once
// Counter-based random numbers. Every random value c2rbench draws is a pure function of
// (seed, stream, index), so token g gets the same hidden state and the same trace pair whichever
// rank holds it: the same seed gives the same global routing whatever the rank count.

#include <cmath>
#include <cstdint>

namespace c2r {

// Named streams keep independent quantities from sharing random numbers.
enum class Stream : uint64_t {
  kHidden = 1,         // token hidden states, indexed by global token id
  kRouter = 2,         // router weights
  kExpert = 3,         // expert FFN weights, indexed by expert id
  kGroupCenter = 4,    // clustered workload: latent group centres
  kGroupOfToken = 5,   // clustered workload: each token's group
  kGroupOfExpert = 6,  // clustered workload: expert -> group shuffle
  kTracePair = 7,      // trace workload: each token's expert pair
  kTraceLogit = 8,     // trace workload: designed router logits
  kSharedGate = 9,     // shared-expert sigmoid gate weights
  kSharedExpert = 10,  // shared-expert FFN weights
  kPlacement = 11,     // tuner: random validation placements
  kCellOrder = 12,     // the schedule: each interleaved round's order of cells
};

inline uint64_t splitmix64(uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

// A small sequential generator started at a (seed, stream, index) key.
class Rng {
 public:
  Rng(uint64_t seed, Stream stream, uint64_t index, uint64_t layer = 0)
      : state_(splitmix64(splitmix64(splitmix64(seed) ^ static_cast<uint64_t>(stream)) ^
                          splitmix64(index * 0x100000001b3ULL + layer))) {}

  uint64_t next_u64() {
    state_ += 0x9e3779b97f4a7c15ULL;
    return splitmix64(state_);
  }
  // Uniform in [0, 1).
  double uniform() { return static_cast<double>(next_u64() >> 11) * 0x1.0p-53; }
  // Uniform integer in [0, n).
  uint64_t below(uint64_t n) { return static_cast<uint64_t>(uniform() * static_cast<double>(n)); }
  // Standard normal (Box-Muller; the second value is kept for the next call).
  double normal() {
    if (has_spare_) {
      has_spare_ = false;
      return spare_;
    }
    double u1 = uniform();
    double u2 = uniform();
    if (u1 < 1e-300) u1 = 1e-300;
    double radius = std::sqrt(-2.0 * std::log(u1));
    spare_ = radius * std::sin(2.0 * M_PI * u2);
    has_spare_ = true;
    return radius * std::cos(2.0 * M_PI * u2);
  }

 private:
  uint64_t state_;
  double spare_ = 0.0;
  bool has_spare_ = false;
};

}  // namespace c2r
