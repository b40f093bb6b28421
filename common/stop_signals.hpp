#pragma once
// Stopping on SIGINT, SIGTERM or SIGHUP (Ctrl-C, a scheduler's cancel, a closed terminal): every
// temporary file being written is removed, rank 0 prints one line, and the process exits with
// 128 + the signal number (130, 143, 129), a status no other outcome uses. mpirun forwards the
// signal to every rank, and ends the job when one rank stops.

#include <csignal>
#include <string>

namespace c2r {

constexpr int kSignalExitBase = 128;

// Installs the handlers; `rank` decides who prints.
void install_stop_handlers(int rank);

// The process has its outcome and is finishing (MPI_Finalize) with `status`: a stop signal now
// (mpirun ends every rank of a job one of whose ranks exited non-zero) removes the temporary files
// and exits with `status`, silently, so the error already printed stays the only message.
void finishing_with(int status);

// A temporary file a stop must remove, for as long as the object lives (at most 16 at a time;
// more are not tracked). Construct it with stop signals blocked (StopSignalsBlocked) around the
// file's creation, so no stop falls between creating and registering it.
class TemporaryFileGuard {
 public:
  explicit TemporaryFileGuard(const std::string& path);
  ~TemporaryFileGuard();
  TemporaryFileGuard(const TemporaryFileGuard&) = delete;
  TemporaryFileGuard& operator=(const TemporaryFileGuard&) = delete;

 private:
  int slot_ = -1;
};

// Blocks the stop signals for its lifetime (they are delivered when it ends).
class StopSignalsBlocked {
 public:
  StopSignalsBlocked();
  ~StopSignalsBlocked();
  StopSignalsBlocked(const StopSignalsBlocked&) = delete;
  StopSignalsBlocked& operator=(const StopSignalsBlocked&) = delete;

 private:
  sigset_t previous_;
};

}  // namespace c2r
