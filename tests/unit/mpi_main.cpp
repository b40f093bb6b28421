// GoogleTest main for the unit tests: MPI is initialised once (a single rank) because some units,
// such as the row datatypes, are MPI objects.
#include <mpi.h>

#include <gtest/gtest.h>

int main(int argc, char** argv) {
  MPI_Init(&argc, &argv);
  ::testing::InitGoogleTest(&argc, argv);
  const int status = RUN_ALL_TESTS();
  MPI_Finalize();
  return status;
}
