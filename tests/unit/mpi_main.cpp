// GoogleTest main for the unit tests: MPI is initialised once (a single rank) because some units,
// such as the row datatypes, are MPI objects.
#include <mpi.h>
#include <stdlib.h>

#include <gtest/gtest.h>

#include <filesystem>
#include <string>
#include <system_error>

namespace {

// ctest starts every test case as its own singleton MPI process, several at once. Open MPI keeps a
// singleton's session files under <tmpdir>/ompi.<host>.<uid>/pid.<pid> and removes the shared
// parent when it is empty, so a process finishing while another starts can remove the parent
// under it ("A call to mkdir was unable to create the desired directory"). A process started
// without mpirun therefore gets a session directory base of its own, removed at exit.
class PrivateSessionDirectory {
 public:
  PrivateSessionDirectory() {
    if (getenv("OMPI_COMM_WORLD_SIZE") || getenv("OMPI_MCA_orte_tmpdir_base")) return;
    const char* tmp = getenv("TMPDIR");
    std::string pattern = std::string(tmp && *tmp ? tmp : "/tmp") + "/c2r-ompi-XXXXXX";
    if (!mkdtemp(pattern.data())) return;  // Open MPI's default then, as before
    path_ = pattern;
    setenv("OMPI_MCA_orte_tmpdir_base", path_.c_str(), 1);
  }
  ~PrivateSessionDirectory() {
    std::error_code ignored;
    if (!path_.empty()) std::filesystem::remove_all(path_, ignored);
  }

 private:
  std::string path_;
};

}  // namespace

int main(int argc, char** argv) {
  const PrivateSessionDirectory session;
  MPI_Init(&argc, &argv);
  ::testing::InitGoogleTest(&argc, argv);
  const int status = RUN_ALL_TESTS();
  MPI_Finalize();
  return status;
}
