#include "common/node_layout.hpp"

#include <algorithm>
#include <cstdlib>
#include <map>

#include "common/error.hpp"

namespace c2r {

namespace {

// A launcher's local rank: the variable's value when it is a whole number in [0, local_ranks).
bool launcher_local_rank(const char* variable, int local_ranks, int& local_rank) {
  const char* text = std::getenv(variable);
  if (!text || !*text) return false;
  char* end = nullptr;
  const long value = std::strtol(text, &end, 10);
  if (*end != '\0' || value < 0 || value >= local_ranks) return false;
  local_rank = static_cast<int>(value);
  return true;
}

}  // namespace

NodeLayout node_layout(const Communicator& comm) {
  MPI_Comm node;
  C2R_MPI_CHECK(
      MPI_Comm_split_type(comm.get(), MPI_COMM_TYPE_SHARED, comm.rank(), MPI_INFO_NULL, &node));
  NodeLayout layout;
  int leader = comm.rank();  // the node's lowest rank names it
  C2R_MPI_CHECK(MPI_Comm_rank(node, &layout.local_rank));
  C2R_MPI_CHECK(MPI_Comm_size(node, &layout.local_ranks));
  C2R_MPI_CHECK(MPI_Allreduce(MPI_IN_PLACE, &leader, 1, MPI_INT, MPI_MIN, node));
  C2R_MPI_CHECK(MPI_Comm_free(&node));

  const std::vector<int64_t> leaders = comm.allgather({leader});
  std::map<int64_t, int> node_of_leader;  // ascending: nodes numbered by their lowest rank
  for (int64_t l : leaders) node_of_leader.emplace(l, 0);
  int next = 0;
  for (auto& [l, n] : node_of_leader) n = next++;
  layout.nodes = next;
  layout.node = node_of_leader[leader];
  for (int64_t l : leaders) layout.node_of_rank.push_back(node_of_leader[l]);

  for (const char* variable : {"OMPI_COMM_WORLD_LOCAL_RANK", "SLURM_LOCALID"}) {
    if (launcher_local_rank(variable, layout.local_ranks, layout.local_rank)) {
      layout.local_rank_from = variable;
      break;
    }
  }
  return layout;
}

}  // namespace c2r
