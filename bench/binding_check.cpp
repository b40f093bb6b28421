#include "bench/binding_check.hpp"

#include <algorithm>
#include <cctype>
#include <map>
#include <sstream>

namespace c2r {

namespace {

// "0,1,2,5" -> "0-2,5": ranks listed as compact ranges.
std::string rank_ranges(const std::vector<int>& ranks) {
  std::ostringstream out;
  for (size_t i = 0; i < ranks.size();) {
    size_t j = i;
    while (j + 1 < ranks.size() && ranks[j + 1] == ranks[j] + 1) ++j;
    if (i > 0) out << ",";
    out << ranks[i];
    if (j > i) out << "-" << ranks[j];
    i = j + 1;
  }
  return out.str();
}

bool share_a_cpu(const std::vector<int>& a, const std::vector<int>& b) {
  size_t i = 0, j = 0;  // both ascending
  while (i < a.size() && j < b.size()) {
    if (a[i] == b[j]) return true;
    a[i] < b[j] ? ++i : ++j;
  }
  return false;
}

struct BoundRank {
  int rank = 0;
  std::vector<int> cpus;
  int cores = 0;  // physical cores the binding touches (hwloc), or its CPU count without that
};

}  // namespace

std::optional<std::vector<int>> parse_cpu_list(const std::string& list) {
  std::vector<int> cpus;
  std::istringstream in(list);
  std::string item;
  while (std::getline(in, item, ',')) {
    const size_t dash = item.find('-');
    const std::string first = item.substr(0, dash);
    const std::string last = dash == std::string::npos ? first : item.substr(dash + 1);
    auto number = [](const std::string& s) -> std::optional<int> {
      if (s.empty() || s.size() > 7) return std::nullopt;
      if (!std::all_of(s.begin(), s.end(), [](unsigned char c) { return std::isdigit(c); })) {
        return std::nullopt;
      }
      return std::stoi(s);
    };
    const auto lo = number(first), hi = number(last);
    if (!lo || !hi || *hi < *lo) return std::nullopt;
    for (int cpu = *lo; cpu <= *hi; ++cpu) cpus.push_back(cpu);
  }
  if (cpus.empty()) return std::nullopt;
  std::sort(cpus.begin(), cpus.end());
  cpus.erase(std::unique(cpus.begin(), cpus.end()), cpus.end());
  return cpus;
}

std::vector<std::string> binding_warnings(const nlohmann::json& rank_binding, int blas_threads) {
  std::map<std::string, std::vector<BoundRank>> by_host;  // sorted by host name
  for (const auto& entry : rank_binding) {
    const auto& binding = entry.value("binding", nlohmann::json::object());
    const auto cpus = parse_cpu_list(binding.value("cpuset", std::string()));
    if (!cpus) continue;
    BoundRank rank{entry.value("rank", 0), *cpus, binding.value("cores", 0)};
    if (rank.cores <= 0) rank.cores = static_cast<int>(cpus->size());
    by_host[entry.value("host", std::string())].push_back(std::move(rank));
  }

  std::vector<std::string> warnings;
  for (const auto& [host, ranks] : by_host) {
    std::vector<int> sharing;  // ranks that share a CPU with another rank of this host
    for (size_t i = 0; i < ranks.size(); ++i) {
      for (size_t j = 0; j < ranks.size(); ++j) {
        if (i != j && share_a_cpu(ranks[i].cpus, ranks[j].cpus)) {
          sharing.push_back(ranks[i].rank);
          break;
        }
      }
    }
    if (!sharing.empty()) {
      std::ostringstream w;
      w << "ranks " << rank_ranges(sharing) << " on host " << host
        << " share CPUs (unbound, or bound to overlapping cores): they time-share those cores and "
           "the timings include it; bind each rank to cores of its own (scripts/mpirun.sh does "
           "when the ranks fit, srun --cpu-bind=cores)";
      warnings.push_back(w.str());
    }
    std::map<int, std::vector<int>> short_of_cores;  // bound cores -> ranks with fewer than threads
    for (const auto& rank : ranks) {
      if (rank.cores < blas_threads) short_of_cores[rank.cores].push_back(rank.rank);
    }
    for (const auto& [cores, ranks_short] : short_of_cores) {
      std::ostringstream w;
      w << "ranks " << rank_ranges(ranks_short) << " on host " << host << " run " << blas_threads
        << " OpenBLAS threads (--blas-threads) on " << cores
        << " bound core(s) each: the threads time-share them; bind each rank to --blas-threads "
           "cores or lower --blas-threads";
      warnings.push_back(w.str());
    }
  }
  return warnings;
}

}  // namespace c2r
