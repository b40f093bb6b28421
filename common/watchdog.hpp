#pragma once
// A per-rank watchdog that turns a hang into a bounded, explained stop.
//
// When one rank dies or stalls, the others wait in their next collective forever: MPI has no
// timeout. Every completed MPI call (C2R_MPI_CHECK) and every timed phase marks progress. A
// thread wakes several times per timeout; when this rank has made no progress for `timeout`
// seconds it prints one message (the rank, the last step completed, what was running) and ends
// the process with kWatchdogExitCode, writing nothing more. mpirun then stops the other ranks;
// ranks started by a launcher that does not stop them stop on their own watchdogs within the same
// bound.

#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>

namespace c2r {

constexpr int kWatchdogExitCode = 4;
constexpr double kDefaultTimeoutSeconds = 300.0;

// Cheap (relaxed atomic stores, no lock): marks that this rank has just completed `step` (a string
// literal; nullptr keeps the previous name).
void mark_progress(const char* step);
// What this rank is running, for the message (e.g. "run: layer 3 c2r T=2 dedup collab").
void set_activity(const std::string& what);

class Watchdog {
 public:
  // timeout_seconds <= 0: no thread, nothing is watched. `limit_name` is how the message names
  // the limit to the user (the command line passes its flag); `cause` what a stop most likely
  // means for the command watched.
  Watchdog(double timeout_seconds, int rank, std::string limit_name = "timeout",
           std::string cause = "a rank has died or stalled");
  ~Watchdog();
  Watchdog(const Watchdog&) = delete;
  Watchdog& operator=(const Watchdog&) = delete;

 private:
  void watch();

  double timeout_;
  int rank_;
  std::string limit_name_;
  std::string cause_;
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stop_ = false;
  std::thread thread_;
};

}  // namespace c2r
