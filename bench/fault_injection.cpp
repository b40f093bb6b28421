#include "bench/fault_injection.hpp"

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <thread>

#include "common/error.hpp"

namespace c2r {

namespace {

FaultSpec armed;  // kind kNone unless this rank is the one to fail
int seen = 0;     // completed phases of armed.phase so far

}  // namespace

void arm_fault(const FaultSpec& fault, int my_rank) {
  armed = fault.rank == my_rank ? fault : FaultSpec{};
  seen = 0;
}

void fault_after_phase(Phase phase) {
  if (armed.kind == FaultKind::kNone || phase != armed.phase || seen++ != armed.occurrence) return;
  std::fprintf(stderr, "c2rbench: rank %d: injected fault: %s after %s (occurrence %d)\n",
               armed.rank, armed.kind == FaultKind::kExit ? "exiting" : "stalling",
               phase_name(phase), armed.occurrence);
  std::fflush(stderr);
  if (armed.kind == FaultKind::kExit) std::_Exit(1);
  for (;;) std::this_thread::sleep_for(std::chrono::hours(1));
}

}  // namespace c2r
