#include "common/file_io.hpp"

#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "common/error.hpp"

namespace c2r {

std::string read_text_file(const std::string& path) {
  std::error_code ec;
  C2R_CHECK(std::filesystem::exists(path, ec), "file not found: " << path);
  C2R_CHECK(!std::filesystem::is_directory(path, ec), "expected a file, got a directory: " << path);
  std::ifstream in(path, std::ios::binary);
  C2R_CHECK(in.good(), "cannot open " << path << ": " << std::strerror(errno));
  std::ostringstream text;
  text << in.rdbuf();
  C2R_CHECK(!in.bad(), "cannot read " << path);
  return text.str();
}

bool file_exists(const std::string& path) {
  std::error_code ec;
  return std::filesystem::exists(path, ec);
}

void write_file_atomically(const std::string& path, const std::string& contents, bool overwrite) {
  namespace fs = std::filesystem;
  C2R_CHECK(overwrite || !file_exists(path), "refusing to overwrite existing file " << path);
  fs::path target(path);
  std::error_code ec;
  if (target.has_parent_path()) {
    fs::create_directories(target.parent_path(), ec);
    C2R_CHECK(!ec,
              "cannot create directory " << target.parent_path().string() << ": " << ec.message());
  }
  std::string temp = path + ".tmp." + std::to_string(getpid());
  {
    std::ofstream out(temp, std::ios::binary | std::ios::trunc);
    C2R_CHECK(out.good(), "cannot write " << temp << ": " << std::strerror(errno));
    out << contents;
    out.flush();
    if (!out.good()) {
      std::remove(temp.c_str());
      throw Error("cannot write " + temp + ": " + std::strerror(errno));
    }
  }
  if (!overwrite) {
    // link() fails if the target appeared meanwhile, so a concurrent writer is never clobbered.
    if (link(temp.c_str(), path.c_str()) != 0) {
      int err = errno;
      std::remove(temp.c_str());
      throw Error("cannot create " + path + ": " + std::strerror(err));
    }
    std::remove(temp.c_str());
    return;
  }
  if (std::rename(temp.c_str(), path.c_str()) != 0) {
    int err = errno;
    std::remove(temp.c_str());
    throw Error("cannot rename " + temp + " to " + path + ": " + std::strerror(err));
  }
}

}  // namespace c2r
