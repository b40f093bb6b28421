#pragma once
// One exception type for every failure c2rbench reports, and the checks that raise it.
// Checks stay on in release builds. main() catches c2r::Error, prints it once and stops all ranks.

#include <mpi.h>

#include <sstream>
#include <stdexcept>
#include <string>

namespace c2r {

class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& what) : std::runtime_error(what) {}
  // An error every rank raised together (bad input seen by all): one rank reports it and all ranks
  // exit cleanly. Any other error stops the job with MPI_Abort.
  static Error on_all_ranks(const std::string& what) {
    Error e(what);
    e.on_all_ranks_ = true;
    return e;
  }
  bool raised_on_all_ranks() const { return on_all_ranks_; }

 private:
  bool on_all_ranks_ = false;
};

// Builds "file:line: what" for a failed check.
std::string located(const char* file, int line, const std::string& what);

// Marks that this rank completed a step (common/watchdog.hpp); C2R_MPI_CHECK marks every MPI call
// that returns, so a rank blocked in a collective shows no progress.
void mark_progress(const char* step);

// Text of an MPI error code, with this rank and host, for C2R_MPI_CHECK.
[[noreturn]] void throw_mpi_error(const char* file, int line, const char* call, int code);

}  // namespace c2r

// Throws c2r::Error with `message` (anything streamable) when `condition` is false.
#define C2R_CHECK(condition, message)              \
  do {                                             \
    if (!(condition)) {                            \
      std::ostringstream c2r_check_stream_;        \
      c2r_check_stream_ << message;                \
      throw ::c2r::Error(c2r_check_stream_.str()); \
    }                                              \
  } while (0)

// Wraps an MPI call; on failure throws c2r::Error naming file:line, the call, the MPI error text,
// the rank and the host.
#define C2R_MPI_CHECK(call)                                             \
  do {                                                                  \
    int c2r_mpi_code_ = (call);                                         \
    if (c2r_mpi_code_ != MPI_SUCCESS) {                                 \
      ::c2r::throw_mpi_error(__FILE__, __LINE__, #call, c2r_mpi_code_); \
    }                                                                   \
    ::c2r::mark_progress(nullptr);                                      \
  } while (0)
