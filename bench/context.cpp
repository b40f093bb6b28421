#include "bench/context.hpp"

#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <fstream>
#include <map>

#include "bench/cache_flush.hpp"
#include "common/node_layout.hpp"
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

#ifdef C2R_HAVE_HWLOC
// How many objects of `type` (cores, NUMA nodes, packages) have a CPU in `set`: a process bound to
// one core of a two-core package runs on one core and one package.
int objects_touched(hwloc_topology_t topology, hwloc_const_cpuset_t set, hwloc_obj_type_t type) {
  int touched = 0;
  const int count = hwloc_get_nbobjs_by_type(topology, type);
  for (int i = 0; i < count; ++i) {
    const hwloc_obj_t obj = hwloc_get_obj_by_type(topology, type, i);
    if (obj && obj->cpuset && hwloc_bitmap_intersects(obj->cpuset, set)) ++touched;
  }
  return touched;
}
#endif

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
      out["cores"] = objects_touched(topology, set, HWLOC_OBJ_CORE);
      out["numa_nodes"] = objects_touched(topology, set, HWLOC_OBJ_NUMANODE);
      out["packages"] = objects_touched(topology, set, HWLOC_OBJ_PACKAGE);
    }
    hwloc_bitmap_free(set);
    out["machine_cores"] = hwloc_get_nbobjs_by_type(topology, HWLOC_OBJ_CORE);
  }
  hwloc_topology_destroy(topology);
#endif
  // What the ceilings' cache flush writes follows from it (bench/cache_flush.hpp).
  out["largest_cache_bytes"] = largest_cache_bytes();
  out["cache_flush_bytes"] = CacheFlusher::machine_bytes();
  return out;
}

// The CPU model as the kernel names it ("model name" in /proc/cpuinfo), or "unknown".
std::string cpu_model() {
  std::ifstream cpuinfo("/proc/cpuinfo");
  std::string line;
  while (std::getline(cpuinfo, line)) {
    if (line.rfind("model name", 0) != 0) continue;
    const size_t colon = line.find(':');
    if (colon == std::string::npos) break;
    const size_t start = line.find_first_not_of(" \t", colon + 1);
    return start == std::string::npos ? "unknown" : line.substr(start);
  }
  return "unknown";
}

// Who started the ranks, from the variables each launcher sets: Open MPI's mpirun
// (OMPI_COMM_WORLD_RANK), Slurm's srun (SLURM_STEP_ID with SLURM_PROCID, and no mpirun), or
// something else (a singleton, another MPI's launcher).
std::string launcher() {
  if (std::getenv("OMPI_COMM_WORLD_RANK")) return "mpirun";
  if (std::getenv("SLURM_STEP_ID") && std::getenv("SLURM_PROCID")) return "srun";
  return "other";
}

}  // namespace

bool is_recorded_variable(const std::string& name) {
  static const char* const kPrefixes[] = {"OMPI_", "UCX_", "NCCL_", "SLURM_", "OPENBLAS_", "OMP_"};
  if (name == "CUDA_VISIBLE_DEVICES") return true;
  for (const char* prefix : kPrefixes) {
    if (name.rfind(prefix, 0) == 0) return true;
  }
  return false;
}

namespace {

// This process's variables that change results (is_recorded_variable), by name.
nlohmann::json recorded_environment() {
  std::map<std::string, std::string> found;  // sorted by name
  for (char** entry = environ; entry && *entry; ++entry) {
    const char* equals = std::strchr(*entry, '=');
    if (!equals) continue;
    const std::string name(*entry, static_cast<size_t>(equals - *entry));
    // Open MPI's PSM transport key is a per-job secret, not a setting.
    if (is_recorded_variable(name) && name != "OMPI_MCA_orte_precondition_transports") {
      found[name] = equals + 1;
    }
  }
  return found;
}

std::string iso_time_now() {
  const std::time_t now = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
  char text[64];
  std::strftime(text, sizeof(text), "%Y-%m-%dT%H:%M:%S%z", std::localtime(&now));
  // RFC 3339 (and ISO 8601's extended form) writes the offset as +hh:mm, strftime's %z +hhmm.
  std::string time = text;
  if (time.size() >= 5) time.insert(time.size() - 2, ":");
  return time;
}

}  // namespace

std::string timestamp_for_filename() {
  const std::time_t now = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
  char text[64];
  std::strftime(text, sizeof(text), "%Y%m%d-%H%M%S", std::localtime(&now));
  return text;
}

nlohmann::json collect_context(const Communicator& comm, const std::vector<std::string>& argv) {
  const NodeLayout layout = node_layout(comm);
  nlohmann::json mine = {{"host", host_name()},
                         {"node", layout.node},
                         {"local_rank", layout.local_rank},
                         {"local_rank_from", layout.local_rank_from},
                         {"cpu_model", cpu_model()},
                         {"binding", binding()}};
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
  const std::string mpi_library(mpi_version, length);
  std::string mpi = mpi_library;
  if (auto cut = mpi.find_first_of("\r\n,"); cut != std::string::npos) mpi.resize(cut);
  return {{"hosts", hosts},
          {"ranks", comm.size()},
          {"rank_binding", ranks},
          {"versions",
           {{"c2rbench", C2R_VERSION},
            {"git_sha", C2R_GIT_SHA},
            {"mpi", mpi},
            {"mpi_library", mpi_library},
            {"blas", blas_version()},
            {"nccl", nullptr},
            {"cuda", nullptr},
            {"compiler", __VERSION__}}},
          {"launcher", launcher()},
          // Rank 0's: per-rank ones (each rank's id) differ between ranks by design.
          {"environment", recorded_environment()},
          {"argv", argv},
          {"start_time", iso_time_now()}};
}

}  // namespace c2r
