#pragma once
// Reads the files a run needs (reference data, placement files) once per job: rank 0 reads, every
// rank parses the same text, so a missing or malformed file is the same error on every rank.

#include <map>
#include <memory>
#include <string>

#include "common/communicator.hpp"
#include "model/placement.hpp"
#include "model/reference_data.hpp"
#include "model/routing_trace.hpp"

namespace c2r {

class DataStore {
 public:
  // Collective: refuses (c2r::Error raised on every rank) a data directory that does not exist or
  // is not a directory, at once: it would otherwise show only later as missing files, or not at
  // all in a command that reads none of its files.
  DataStore(const Communicator& comm, std::string data_dir);

  // Files under the data directory's reference/ folder.
  const LayerCollaboration& collaboration_matrix(const std::string& file);
  const LayerCollaborativeLists& collaborative_list(const std::string& file);
  // A placement file at `path`.
  const PlacementFile& placement_file(const std::string& path);
  // Collective: the routing trace at `path` (`run --trace`), with the .npy files it names, each
  // read once on rank 0 and its bytes broadcast, so every rank parses the same bytes.
  const RoutingTrace& routing_trace(const std::string& path);
  // Collective: whether the reference file exists, as rank 0 (which reads the files) sees it, so
  // that every rank decides alike.
  bool reference_file_exists(const std::string& file) const;
  // The path of a reference file, as errors name it.
  std::string reference_path(const std::string& file) const;
  // Collective: the text of the file at `path` on every rank (read once, on rank 0).
  std::string text_file(const std::string& path) const { return read_everywhere(path); }

 private:
  // Collective: the file's text (any bytes) on every rank, or the same c2r::Error on every rank.
  std::string read_everywhere(const std::string& path) const;

  const Communicator& comm_;
  std::string data_dir_;
  std::map<std::string, LayerCollaboration> matrices_;
  std::map<std::string, LayerCollaborativeLists> lists_;
  std::map<std::string, PlacementFile> placements_;
  std::map<std::string, RoutingTrace> traces_;
};

}  // namespace c2r
