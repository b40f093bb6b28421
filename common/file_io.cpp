#include "common/file_io.hpp"

#include <sys/stat.h>
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
  // The temporary file: an unpredictable name in the target's directory, created exclusively
  // (mkstemp: O_CREAT | O_EXCL, mode 0600), so a file or symlink planted beforehand is never
  // written through, and two writers never share one.
  std::string temp = path + ".tmp.XXXXXX";
  const int fd = mkstemp(temp.data());
  C2R_CHECK(fd >= 0,
            "cannot create a temporary file next to " << path << ": " << std::strerror(errno));
  const char* data = contents.data();
  size_t left = contents.size();
  while (left > 0) {
    const ssize_t written = ::write(fd, data, left);
    if (written < 0 && errno == EINTR) continue;
    if (written <= 0) {
      const int err = errno;
      ::close(fd);
      std::remove(temp.c_str());
      throw Error("cannot write " + temp + ": " + std::strerror(err));
    }
    data += written;
    left -= static_cast<size_t>(written);
  }
  // Reports are read by other users' tools: the usual permissions of a new file, not mkstemp's.
  const mode_t mask = umask(0);
  umask(mask);
  if (::fchmod(fd, 0666 & ~mask) != 0 || ::close(fd) != 0) {
    const int err = errno;
    std::remove(temp.c_str());
    throw Error("cannot write " + temp + ": " + std::strerror(err));
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
