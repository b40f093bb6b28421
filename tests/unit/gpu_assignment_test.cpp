// GPU assignment without a device (collectives/gpu_assignment.hpp): the device a rank takes from
// its local rank or C2R_DEVICE, and two ranks of one node on one GPU refused by name.
#include "collectives/gpu_assignment.hpp"

#include <gtest/gtest.h>

#include "common/error.hpp"

namespace c2r {
namespace {

TEST(GpuAssignment, LocalRankModuloVisibleDevicesUnlessOverridden) {
  EXPECT_EQ(choose_device(0, 4, std::nullopt), 0);
  EXPECT_EQ(choose_device(3, 4, std::nullopt), 3);
  EXPECT_EQ(choose_device(5, 4, std::nullopt), 1);
  EXPECT_EQ(choose_device(7, 1, std::nullopt), 0);  // one visible GPU per rank (--gpus-per-task)
  EXPECT_EQ(choose_device(0, 8, std::string("6")), 6);
  for (const char* bad : {"8", "-1", "", "x", "1.5", "99999999"}) {
    try {
      choose_device(0, 8, std::string(bad));
      ADD_FAILURE() << "C2R_DEVICE=" << bad << " accepted";
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find("C2R_DEVICE=" + std::string(bad)), std::string::npos)
          << e.what();
    }
  }
  EXPECT_THROW(choose_device(0, 0, std::nullopt), Error);
}

TEST(GpuAssignment, RefusesOnlyTwoRanksOfOneNodeOnOneGpu) {
  const std::vector<std::string> hosts = {"a", "a", "b", "b"};
  // Every rank sees device 0 of its own (per-rank visibility): distinct bus ids, no problem.
  EXPECT_FALSE(shared_gpu_problem(
      {0, 0, 1, 1}, hosts, {"0000:19:00.0", "0000:3b:00.0", "0000:19:00.0", "0000:3b:00.0"}));
  // The same bus id on two nodes is two GPUs.
  EXPECT_FALSE(shared_gpu_problem({0, 0, 1, 1}, hosts, {"x", "y", "x", "y"}));
  const auto problem =
      shared_gpu_problem({0, 0, 1, 1}, hosts, {"0000:19:00.0", "0000:3b:00.0", "p", "p"});
  ASSERT_TRUE(problem);
  EXPECT_NE(problem->find("ranks 2 and 3 on host b share the GPU at PCI bus id p"),
            std::string::npos)
      << *problem;
}

}  // namespace
}  // namespace c2r
