// Where each rank sits (common/node_layout.hpp): one node here, every rank's local rank its place
// in it, and the launcher's variable preferred when it holds a local rank of this node. Runs alone
// and under mpirun (mpi_exchange_regroup_np3 runs NodeLayout.* on 3 ranks).
#include "common/node_layout.hpp"

#include <gtest/gtest.h>

#include <cstdlib>
#include <optional>
#include <string>

namespace c2r {
namespace {

// Sets (or unsets) an environment variable for one scope.
class ScopedVariable {
 public:
  ScopedVariable(const char* name, const char* value) : name_(name) {
    if (const char* old = std::getenv(name)) old_ = old;
    value ? setenv(name, value, 1) : unsetenv(name);
  }
  ~ScopedVariable() { old_ ? setenv(name_, old_->c_str(), 1) : unsetenv(name_); }

 private:
  const char* name_;
  std::optional<std::string> old_;
};

TEST(NodeLayout, OneNodeHoldsEveryRankOnce) {
  const Communicator comm(MPI_COMM_WORLD);
  const NodeLayout layout = node_layout(comm);
  EXPECT_EQ(layout.nodes, 1);
  EXPECT_EQ(layout.node, 0);
  EXPECT_EQ(layout.local_ranks, comm.size());
  EXPECT_EQ(layout.node_of_rank, std::vector<int>(comm.size(), 0));
  // Every local rank once: under mpirun its own variable, alone the rank's place in the node.
  const std::vector<int64_t> locals = comm.allgather({layout.local_rank});
  for (int r = 0; r < comm.size(); ++r) EXPECT_EQ(locals[r], r);
  if (std::getenv("OMPI_COMM_WORLD_LOCAL_RANK")) {
    EXPECT_EQ(layout.local_rank_from, "OMPI_COMM_WORLD_LOCAL_RANK");
  }
}

TEST(NodeLayout, TakesTheLaunchersLocalRankOnlyWhenItFitsTheNode) {
  const Communicator comm(MPI_COMM_WORLD);
  const std::string mine = std::to_string(comm.rank());
  {
    const ScopedVariable ompi("OMPI_COMM_WORLD_LOCAL_RANK", nullptr);
    const ScopedVariable slurm("SLURM_LOCALID", mine.c_str());
    const NodeLayout layout = node_layout(comm);
    EXPECT_EQ(layout.local_rank_from, "SLURM_LOCALID");
    EXPECT_EQ(layout.local_rank, comm.rank());
  }
  for (const char* bad : {"", "x", "-1", "1e3", "99999"}) {
    const ScopedVariable ompi("OMPI_COMM_WORLD_LOCAL_RANK", bad);
    const ScopedVariable slurm("SLURM_LOCALID", nullptr);
    const NodeLayout layout = node_layout(comm);
    EXPECT_EQ(layout.local_rank_from, "MPI") << bad;
    EXPECT_EQ(layout.local_rank, comm.rank()) << bad;
  }
}

}  // namespace
}  // namespace c2r
