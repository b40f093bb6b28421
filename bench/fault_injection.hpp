#pragma once
// `run --inject-fault KIND:RANK[:PHASE[:N]]`: makes one rank fail on purpose, to check that a
// cluster allocation is not held by a hung benchmark. The rank fails the N-th time (from 0,
// counted over the whole run) it completes PHASE (default: dispatch, N = 0):
//   exit  - prints that it is failing and ends the process at once (exit status 1, no MPI
//           finalisation), as a crashed rank would;
//   stall - prints that it is stalling and sleeps forever, as a rank stuck in a driver would.
// The other ranks then block in their next collective, and the watchdog (--timeout) stops them.

#include <string>

#include "bench/harness.hpp"

namespace c2r {

enum class FaultKind { kNone, kExit, kStall };

struct FaultSpec {
  FaultKind kind = FaultKind::kNone;
  int rank = 0;
  Phase phase = Phase::kDispatch;
  int occurrence = 0;
};

// Arms `fault` on this rank (a no-op on the others). PhaseClock::lap() calls
// fault_after_phase() after every phase.
void arm_fault(const FaultSpec& fault, int my_rank);
void fault_after_phase(Phase phase);

}  // namespace c2r
