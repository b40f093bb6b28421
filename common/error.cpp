#include "common/error.hpp"

#include <unistd.h>

namespace c2r {

std::string located(const char* file, int line, const std::string& what) {
  std::ostringstream out;
  out << file << ":" << line << ": " << what;
  return out.str();
}

void throw_mpi_error(const char* file, int line, const char* call, int code) {
  char text[MPI_MAX_ERROR_STRING] = {0};
  int length = 0;
  MPI_Error_string(code, text, &length);
  int rank = -1;
  int initialized = 0;
  MPI_Initialized(&initialized);
  if (initialized) MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  char host[256] = {0};
  gethostname(host, sizeof(host) - 1);
  std::ostringstream out;
  out << call << " failed: " << text << " (rank " << rank << " on " << host << ")";
  throw Error(located(file, line, out.str()));
}

}  // namespace c2r
