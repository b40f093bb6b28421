#include "bench/harness.hpp"

#include <mpi.h>

#include "bench/fault_injection.hpp"
#include "common/error.hpp"

namespace c2r {

void PhaseClock::start() {
  seconds_.fill(0.0);
  first_ = last_ = MPI_Wtime();
}

void PhaseClock::lap(Phase phase) {
  const double now = MPI_Wtime();
  seconds_[static_cast<int>(phase)] += now - last_;
  last_ = now;
  mark_progress(phase_name(phase));
  fault_after_phase(phase);
}

void PhaseClock::move(Phase from, Phase to, double seconds) {
  seconds_[static_cast<int>(from)] -= seconds;
  seconds_[static_cast<int>(to)] += seconds;
}

double PhaseClock::total_seconds() const {
  return last_ - first_;
}

double PhaseClock::elapsed_seconds() const {
  return MPI_Wtime() - first_;
}

double compute_seconds(const PhaseClock& clock) {
  return clock.phase_seconds(Phase::kGate) + clock.phase_seconds(Phase::kPermute) +
         clock.phase_seconds(Phase::kExpert) + clock.phase_seconds(Phase::kUnpermute);
}

void time_iteration(const Communicator& comm, PhaseClock& clock,
                    const std::function<void(PhaseClock&)>& body,
                    const std::function<void()>& prepare) {
  if (prepare) prepare();
  comm.barrier();
  clock.start();
  body(clock);
}

}  // namespace c2r
