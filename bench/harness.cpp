#include "bench/harness.hpp"

#include <mpi.h>

#include <cstring>

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

double PhaseClock::total_seconds() const {
  return last_ - first_;
}

PhaseSamples time_phases(const Communicator& comm, const LoopCounts& counts,
                         const std::function<void(PhaseClock&)>& body,
                         const std::function<void()>& untimed_before) {
  C2R_CHECK(counts.warmup >= 1,
            "warm-up must be at least 1 iteration (the first run sizes the buffers)");
  C2R_CHECK(counts.iterations >= 1, "a timed loop needs at least 1 iteration");
  const int columns = kNumPhases + 1;
  // local[i * columns + p]: this rank's seconds of phase p in iteration i; last column = layer.
  std::vector<double> local(static_cast<size_t>(counts.iterations) * columns, 0.0);
  PhaseClock clock;
  for (int i = -counts.warmup; i < counts.iterations; ++i) {
    if (untimed_before) untimed_before();
    comm.barrier();
    clock.start();
    body(clock);
    if (i < 0) continue;
    for (int p = 0; p < kNumPhases; ++p) {
      local[static_cast<size_t>(i) * columns + p] = clock.phase_seconds(static_cast<Phase>(p));
    }
    local[static_cast<size_t>(i) * columns + kNumPhases] = clock.total_seconds();
  }
  comm.allreduce_max(local);
  PhaseSamples samples;
  for (int i = 0; i < counts.iterations; ++i) {
    for (int p = 0; p < kNumPhases; ++p) {
      samples.phase_us[p].push_back(local[static_cast<size_t>(i) * columns + p] * 1e6);
    }
    samples.layer_us.push_back(local[static_cast<size_t>(i) * columns + kNumPhases] * 1e6);
  }
  return samples;
}

std::vector<double> time_interval(const Communicator& comm, const LoopCounts& counts,
                                  const std::function<void()>& body,
                                  const std::function<void()>& untimed_before) {
  PhaseSamples s = time_phases(
      comm, counts,
      [&](PhaseClock& clock) {
        body();
        clock.lap(Phase::kGate);
      },
      untimed_before);
  return s.layer_us;
}

void CacheFlusher::flush() {
  ++value_;
  std::memset(buffer_.data(), value_, buffer_.size());
  // Read one byte back through a volatile pointer so the writes cannot be elided.
  volatile char* sink = buffer_.data();
  (void)sink[buffer_.size() / 2];
}

}  // namespace c2r
