#include "model/data_store.hpp"

#include <filesystem>

#include "common/error.hpp"
#include "common/file_io.hpp"

namespace c2r {

DataStore::DataStore(const Communicator& comm, std::string data_dir)
    : comm_(comm), data_dir_(std::move(data_dir)) {
  std::string error;  // rank 0's finding: it is the rank that reads the files
  if (comm_.rank() == 0) {
    std::error_code ec;
    if (!std::filesystem::exists(data_dir_, ec)) {
      error = "data directory " + data_dir_ + " does not exist";
    } else if (!std::filesystem::is_directory(data_dir_, ec)) {
      error = "data directory " + data_dir_ + " is not a directory";
    }
  }
  comm_.broadcast(error);
  if (!error.empty()) throw Error::on_all_ranks(error);
}

std::string DataStore::reference_path(const std::string& file) const {
  return data_dir_ + "/reference/" + file;
}

bool DataStore::reference_file_exists(const std::string& file) const {
  std::string exists;
  if (comm_.rank() == 0) exists = file_exists(reference_path(file)) ? "yes" : "";
  comm_.broadcast(exists);
  return !exists.empty();
}

std::string DataStore::read_everywhere(const std::string& path) const {
  std::string text, error;
  if (comm_.rank() == 0) {
    try {
      text = read_text_file(path);
    } catch (const Error& e) {
      error = e.what();
    }
  }
  comm_.broadcast(error);
  if (!error.empty()) throw Error::on_all_ranks(error);
  comm_.broadcast(text);
  return text;
}

// Parsing is deterministic, so a parse error is raised on every rank alike.
template <typename Parsed, typename Parse>
const Parsed& parse_cached(std::map<std::string, Parsed>& cache, const std::string& key,
                           const std::string& text_source, const std::string& text, Parse parse) {
  auto it = cache.find(key);
  if (it != cache.end()) return it->second;
  try {
    return cache.emplace(key, parse(text, text_source)).first->second;
  } catch (const Error& e) {
    throw Error::on_all_ranks(e.what());
  }
}

const LayerCollaboration& DataStore::collaboration_matrix(const std::string& file) {
  if (auto it = matrices_.find(file); it != matrices_.end()) return it->second;
  const std::string path = reference_path(file);
  return parse_cached(matrices_, file, path, read_everywhere(path), parse_collaboration_matrix);
}

const LayerCollaborativeLists& DataStore::collaborative_list(const std::string& file) {
  if (auto it = lists_.find(file); it != lists_.end()) return it->second;
  const std::string path = reference_path(file);
  return parse_cached(lists_, file, path, read_everywhere(path), parse_collaborative_list);
}

const PlacementFile& DataStore::placement_file(const std::string& path) {
  if (auto it = placements_.find(path); it != placements_.end()) return it->second;
  return parse_cached(placements_, path, path, read_everywhere(path), parse_placement_file);
}

const RoutingTrace& DataStore::routing_trace(const std::string& path) {
  if (auto it = traces_.find(path); it != traces_.end()) return it->second;
  // The parse reads the .npy files the trace names as it meets them, in the same order on every
  // rank (they parse the same text), so each read is a collective every rank makes.
  const auto parse = [this](const std::string& text, const std::string& source) {
    return parse_routing_trace(text, source,
                               [this](const std::string& file) { return read_everywhere(file); });
  };
  return parse_cached(traces_, path, path, read_everywhere(path), parse);
}

}  // namespace c2r
