// The watchdog (a rank without progress stops within its timeout) and --inject-fault parsing.
#include <gtest/gtest.h>

#include <chrono>
#include <thread>

#include "bench/fault_injection.hpp"
#include "cli/options.hpp"
#include "common/error.hpp"
#include "common/watchdog.hpp"

namespace c2r {
namespace {

TEST(Watchdog, StopsARankWithoutProgress) {
  EXPECT_EXIT(
      {
        set_activity("a stalled test");
        const Watchdog watchdog(0.2, 7, "--timeout");
        mark_progress("gate");
        std::this_thread::sleep_for(std::chrono::seconds(10));
      },
      ::testing::ExitedWithCode(kWatchdogExitCode),
      "error on rank 7: no progress for 0.[2-9] s \\(--timeout 0.2\\).*last completed gate, "
      "during a stalled test");
}

TEST(Watchdog, ProgressKeepsTheRankAlive) {
  // 1 s of work marked every 20 ms under a 0.2 s timeout: never stopped, and joined cleanly.
  {
    const Watchdog watchdog(0.2, 0);
    for (int i = 0; i < 50; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
      mark_progress("expert");
    }
  }
  SUCCEED();
}

TEST(Watchdog, ZeroTimeoutWatchesNothing) {
  const Watchdog watchdog(0.0, 0);
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  SUCCEED();
}

TEST(FaultInjection, ParsesKindRankPhaseAndOccurrence) {
  FaultSpec f = parse_fault("stall:1", 2);
  EXPECT_EQ(f.kind, FaultKind::kStall);
  EXPECT_EQ(f.rank, 1);
  EXPECT_EQ(f.phase, Phase::kDispatch);
  EXPECT_EQ(f.occurrence, 0);
  f = parse_fault("exit:3:combine:7", 4);
  EXPECT_EQ(f.kind, FaultKind::kExit);
  EXPECT_EQ(f.rank, 3);
  EXPECT_EQ(f.phase, Phase::kCombine);
  EXPECT_EQ(f.occurrence, 7);
}

TEST(FaultInjection, RefusesMalformedSpecsByName) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"stall", "is not KIND:RANK[:PHASE[:N]]"},
      {"stall:1:gate:0:9", "is not KIND:RANK[:PHASE[:N]]"},
      {"melt:1", "unknown kind 'melt'"},
      {"exit:x", "rank 'x' is not a number"},
      {"exit:-1", "rank '-1' is not a number"},
      {"exit:2", "rank 2 is not in the job (ranks 0..1)"},
      {"exit:1:sync", "unknown phase 'sync'"},
      {"exit:1:gate:1.5", "occurrence '1.5' is not a number"},
  };
  for (const auto& [text, needle] : cases) {
    try {
      parse_fault(text, 2);
      ADD_FAILURE() << text << " accepted";
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
    }
  }
}

TEST(FaultInjection, AFaultArmedForAnotherRankNeverFires) {
  arm_fault(parse_fault("exit:1:gate", 2), 0);
  for (int i = 0; i < 10; ++i) fault_after_phase(Phase::kGate);
  arm_fault(FaultSpec{}, 0);
  SUCCEED();
}

TEST(FaultInjection, TheArmedRankExitsAtTheNamedOccurrence) {
  EXPECT_EXIT(
      {
        arm_fault(parse_fault("exit:0:expert:2", 1), 0);
        fault_after_phase(Phase::kGate);
        fault_after_phase(Phase::kExpert);
        fault_after_phase(Phase::kExpert);
        std::fprintf(stderr, "still running\n");
        fault_after_phase(Phase::kExpert);
        std::_Exit(0);
      },
      ::testing::ExitedWithCode(1),
      "still running\n.*rank 0: injected fault: exiting after expert");
}

}  // namespace
}  // namespace c2r
