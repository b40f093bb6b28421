#pragma once
// Where each rank sits among the job's nodes. MPI's shared-memory split names the nodes (each by
// its lowest rank), whatever launched the ranks; the local rank is the launcher's where it sets
// one (Open MPI's mpirun: OMPI_COMM_WORLD_LOCAL_RANK, Slurm's srun: SLURM_LOCALID), since that is
// the number a site's binding and GPU assignment follow, else the rank's place in its node.

#include <string>
#include <vector>

#include "common/communicator.hpp"

namespace c2r {

struct NodeLayout {
  int node = 0;   // this rank's node, numbered in order of the nodes' lowest ranks
  int nodes = 1;  // nodes of the job
  int local_rank = 0;
  int local_ranks = 1;                  // ranks on this rank's node
  std::string local_rank_from = "MPI";  // OMPI_COMM_WORLD_LOCAL_RANK, SLURM_LOCALID or MPI
  std::vector<int> node_of_rank;        // [ranks]: every rank's node
};

// Collective over `comm`.
NodeLayout node_layout(const Communicator& comm);

}  // namespace c2r
