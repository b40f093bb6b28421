#pragma once
// Reading input files and writing output files under one policy (docs/RELIABILITY.md):
//   - an input is a regular file (never a FIFO, device or directory, so nothing blocks), at most
//     a bounded size, and every error names it;
//   - an output is checked before any work (its directory exists and is writable, its name is a
//     valid new file name), written through an unpredictable temporary file in its directory
//     (mkstemp) and a link or rename, never over an existing file unless asked, and nothing is
//     left behind on failure or on a stop signal.

#include <cstdint>
#include <string>

namespace c2r {

// The largest input file read: reports of long runs are tens of MB; anything past this is not a
// file c2rbench wrote.
constexpr int64_t kMaxInputFileBytes = int64_t{256} << 20;

// Reads a whole regular file of at most `max_bytes`; throws c2r::Error naming the path when it is
// missing, not a regular file, too large or unreadable.
std::string read_text_file(const std::string& path, int64_t max_bytes = kMaxInputFileBytes);

// Writes `contents` to `path` through a temporary file in the same directory and a rename, so a
// reader never sees half a file. Refuses (c2r::Error) when `path` exists and `overwrite` is false.
// The directory must exist.
void write_file_atomically(const std::string& path, const std::string& contents, bool overwrite);

bool file_exists(const std::string& path);

// Throws c2r::Error (naming `flag` and the path) unless `path` can become a new file: a valid
// name (not a directory, components within NAME_MAX), nothing there yet (not even a dangling
// symlink), and its directory existing and writable. Creates nothing that stays.
void check_new_output_path(const std::string& path, const std::string& flag);

// Where a command writes its one output file.
class OutputFile {
 public:
  // The path the user gave (`flag`): checked now, written once, never overwritten.
  static OutputFile given(const std::string& path, const std::string& flag);
  // A default name "<directory>/<stem>.json" (then "<stem>-2.json", ...) taken when written, so
  // two runs started together never share one; `directory` is created then if missing. Checks
  // now that it can be.
  static OutputFile fresh(const std::string& directory, const std::string& stem);

  // Writes atomically; returns the path written. Throws c2r::Error naming it.
  std::string write(const std::string& contents) const;

  // The partial file beside it, "<path>.partial" (a fresh name, not taken yet:
  // "<directory>/<stem>-<pid>.json.partial", this process's own), which a command rewrites
  // (atomically) as its results come in and removes once the final file is written.
  std::string partial_path() const;
  // A given path: throws c2r::Error (naming `flag`) when its partial file exists already.
  void check_partial_free(const std::string& flag) const;
  // Writes (atomically, replacing the previous one) or removes the partial file; false (and
  // nothing thrown) when that fails: partial results are a convenience the run goes on without.
  bool write_partial(const std::string& contents) const;
  void remove_partial() const;

 private:
  std::string path_;       // given
  std::string directory_;  // fresh
  std::string stem_;
};

}  // namespace c2r
