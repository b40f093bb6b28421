// Topology helpers: the pair schedule and the latency/bandwidth fit.
#include <gtest/gtest.h>

#include <set>

#include "common/error.hpp"
#include "tuner/topology.hpp"

namespace c2r {
namespace {

TEST(Topology, PairRoundsCoverEveryPairOnceWithDisjointPairsPerRound) {
  for (int ranks = 1; ranks <= 9; ++ranks) {
    const auto rounds = pair_rounds(ranks);
    std::set<std::pair<int, int>> seen;
    for (const auto& round : rounds) {
      std::set<int> busy;
      for (const auto& [a, b] : round) {
        EXPECT_LT(a, b);
        EXPECT_TRUE(busy.insert(a).second && busy.insert(b).second) << "rank twice in a round";
        EXPECT_TRUE(seen.insert({a, b}).second) << "pair twice";
      }
    }
    EXPECT_EQ(static_cast<int>(seen.size()), ranks * (ranks - 1) / 2) << ranks;
    EXPECT_LE(static_cast<int>(rounds.size()), ranks) << "rounds, not pairs";
  }
}

TEST(Topology, FitRecoversLatencyAndBandwidth) {
  const std::vector<double> bytes = {1e3, 1e4, 1e5, 1e6};
  std::vector<double> seconds;
  for (double b : bytes) seconds.push_back(5e-6 + b / 2e9);
  const auto [latency, bandwidth] = fit_latency_bandwidth(bytes, seconds);
  EXPECT_NEAR(latency, 5e-6, 1e-12);
  EXPECT_NEAR(bandwidth, 2e9, 1e3);
  EXPECT_THROW(fit_latency_bandwidth({1.0}, {1.0}), Error);
}

}  // namespace
}  // namespace c2r
