// The binding check: hwloc CPU lists parsed exactly, and warnings for ranks that share cores or run
// more OpenBLAS threads than they have bound cores — none when every rank has cores of its own.
#include "bench/binding_check.hpp"

#include <gtest/gtest.h>

namespace c2r {
namespace {

nlohmann::json rank_entry(int rank, const std::string& host, const std::string& cpuset, int cores) {
  return {{"rank", rank}, {"host", host}, {"binding", {{"cpuset", cpuset}, {"cores", cores}}}};
}

TEST(BindingCheck, ParsesHwlocLists) {
  EXPECT_EQ(parse_cpu_list("0"), std::vector<int>({0}));
  EXPECT_EQ(parse_cpu_list("0-3,8,10-11"), std::vector<int>({0, 1, 2, 3, 8, 10, 11}));
  EXPECT_EQ(parse_cpu_list("5,1-2,2"), std::vector<int>({1, 2, 5}));
  for (const char* bad : {"", "unknown", "0-", "3-1", "a", "1,,2", "0-99999999", "-1"}) {
    EXPECT_FALSE(parse_cpu_list(bad).has_value()) << bad;
  }
}

TEST(BindingCheck, RanksOnCoresOfTheirOwnGiveNoWarning) {
  const nlohmann::json ranks = {rank_entry(0, "a", "0-1", 2), rank_entry(1, "a", "2-3", 2),
                                rank_entry(2, "b", "0-1", 2), rank_entry(3, "b", "2-3", 2)};
  EXPECT_TRUE(binding_warnings(ranks, 1).empty());
  EXPECT_TRUE(binding_warnings(ranks, 2).empty());
}

TEST(BindingCheck, UnboundRanksOfOneHostShareCores) {
  // Unbound: each rank may run on all of the host's CPUs. The other host's ranks are bound apart.
  const nlohmann::json ranks = {rank_entry(0, "a", "0-1", 2), rank_entry(1, "a", "0-1", 2),
                                rank_entry(2, "a", "0-1", 2), rank_entry(3, "b", "0", 1),
                                rank_entry(4, "b", "1", 1)};
  const auto warnings = binding_warnings(ranks, 1);
  ASSERT_EQ(warnings.size(), 1u);
  EXPECT_NE(warnings[0].find("ranks 0-2 on host a share CPUs"), std::string::npos) << warnings[0];
}

TEST(BindingCheck, OverlappingBindingsNameOnlyTheRanksThatOverlap) {
  const nlohmann::json ranks = {rank_entry(0, "a", "0-1", 2), rank_entry(1, "a", "1-2", 2),
                                rank_entry(2, "a", "4-5", 2), rank_entry(3, "a", "3", 1)};
  const auto warnings = binding_warnings(ranks, 1);
  ASSERT_EQ(warnings.size(), 1u);
  EXPECT_NE(warnings[0].find("ranks 0-1 on host a"), std::string::npos) << warnings[0];
}

TEST(BindingCheck, MoreThreadsThanBoundCores) {
  const nlohmann::json ranks = {rank_entry(0, "a", "0", 1), rank_entry(1, "a", "1", 1),
                                rank_entry(2, "a", "2-3", 2)};
  const auto warnings = binding_warnings(ranks, 2);
  ASSERT_EQ(warnings.size(), 1u);
  EXPECT_NE(warnings[0].find("ranks 0-1 on host a run 2 OpenBLAS threads"), std::string::npos)
      << warnings[0];
  EXPECT_NE(warnings[0].find("on 1 bound core(s)"), std::string::npos) << warnings[0];
  // Without hwloc's core count, the CPUs in the list stand for cores.
  const nlohmann::json no_cores = {rank_entry(0, "a", "0-3", 0)};
  EXPECT_TRUE(binding_warnings(no_cores, 4).empty());
  EXPECT_EQ(binding_warnings(no_cores, 5).size(), 1u);
}

TEST(BindingCheck, UnknownBindingsAreLeftOut) {
  const nlohmann::json ranks = {rank_entry(0, "a", "unknown", 0), rank_entry(1, "a", "unknown", 0)};
  EXPECT_TRUE(binding_warnings(ranks, 4).empty());
}

}  // namespace
}  // namespace c2r
