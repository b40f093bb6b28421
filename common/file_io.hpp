#pragma once
// Whole-file reads and atomic, never-overwriting writes.

#include <string>

namespace c2r {

// Reads a whole file; throws c2r::Error naming the path when it is missing or unreadable.
std::string read_text_file(const std::string& path);

// Writes `contents` to `path` through a temporary file in the same directory and a rename, so a
// reader never sees half a file. Refuses (c2r::Error) when `path` exists and `overwrite` is false.
// Creates missing parent directories.
void write_file_atomically(const std::string& path, const std::string& contents, bool overwrite);

bool file_exists(const std::string& path);

}  // namespace c2r
