#include "bench/context.hpp"

#include <unistd.h>

#include <chrono>
#include <ctime>

#include "kernels/cpu/blas.hpp"

#ifdef C2R_HAVE_HWLOC
#include <hwloc.h>
#endif

namespace c2r {

namespace {

std::string host_name() {
  char host[256] = {0};
  gethostname(host, sizeof(host) - 1);
  return host;
}

// This process's CPU binding as an hwloc list ("0-1"), plus the cores and NUMA nodes it covers.
nlohmann::json binding() {
  nlohmann::json out = {{"cpuset", "unknown"}};
#ifdef C2R_HAVE_HWLOC
  hwloc_topology_t topology;
  if (hwloc_topology_init(&topology) != 0) return out;
  if (hwloc_topology_load(topology) == 0) {
    hwloc_bitmap_t set = hwloc_bitmap_alloc();
    if (hwloc_get_cpubind(topology, set, HWLOC_CPUBIND_PROCESS) == 0) {
      char* text = nullptr;
      hwloc_bitmap_list_asprintf(&text, set);
      out["cpuset"] = text ? text : "";
      free(text);
      out["cores"] = hwloc_get_nbobjs_inside_cpuset_by_type(topology, set, HWLOC_OBJ_CORE);
      out["numa_nodes"] = hwloc_get_nbobjs_inside_cpuset_by_type(topology, set, HWLOC_OBJ_NUMANODE);
      out["packages"] = hwloc_get_nbobjs_inside_cpuset_by_type(topology, set, HWLOC_OBJ_PACKAGE);
    }
    hwloc_bitmap_free(set);
    out["machine_cores"] = hwloc_get_nbobjs_by_type(topology, HWLOC_OBJ_CORE);
  }
  hwloc_topology_destroy(topology);
#endif
  return out;
}

std::string iso_time_now() {
  const std::time_t now = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
  char text[64];
  std::strftime(text, sizeof(text), "%Y-%m-%dT%H:%M:%S%z", std::localtime(&now));
  return text;
}

}  // namespace

std::string timestamp_for_filename() {
  const std::time_t now = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
  char text[64];
  std::strftime(text, sizeof(text), "%Y%m%d-%H%M%S", std::localtime(&now));
  return text;
}

nlohmann::json collect_context(const Communicator& comm, const std::vector<std::string>& argv) {
  nlohmann::json mine = {{"host", host_name()}, {"binding", binding()}};
  const std::vector<std::string> all = comm.allgather_strings(mine.dump());
  nlohmann::json ranks = nlohmann::json::array();
  std::vector<std::string> hosts;
  for (int r = 0; r < comm.size(); ++r) {
    nlohmann::json entry = nlohmann::json::parse(all[r]);
    entry["rank"] = r;
    const std::string host = entry["host"];
    if (std::find(hosts.begin(), hosts.end(), host) == hosts.end()) hosts.push_back(host);
    ranks.push_back(entry);
  }
  char mpi_version[MPI_MAX_LIBRARY_VERSION_STRING] = {0};
  int length = 0;
  MPI_Get_library_version(mpi_version, &length);
  std::string mpi(mpi_version, length);
  if (auto cut = mpi.find_first_of("\r\n,"); cut != std::string::npos) mpi.resize(cut);
  return {{"hosts", hosts},
          {"ranks", comm.size()},
          {"rank_binding", ranks},
          {"versions",
           {{"c2rbench", C2R_VERSION},
            {"git_sha", C2R_GIT_SHA},
            {"mpi", mpi},
            {"blas", blas_version()},
            {"nccl", nullptr},
            {"cuda", nullptr},
            {"compiler", __VERSION__}}},
          {"argv", argv},
          {"start_time", iso_time_now()}};
}

}  // namespace c2r
