#include "common/file_io.hpp"

#include <fcntl.h>
#include <limits.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <memory>

#include "common/error.hpp"
#include "common/stop_signals.hpp"

namespace c2r {

namespace {

std::string errno_text(int err) {
  return std::strerror(err);
}

const char* file_kind(mode_t mode) {
  if (S_ISFIFO(mode)) return "a named pipe (FIFO)";
  if (S_ISCHR(mode)) return "a character device";
  if (S_ISBLK(mode)) return "a block device";
  if (S_ISSOCK(mode)) return "a socket";
  return "not a regular file";
}

// Closes a descriptor on every path out.
struct Descriptor {
  int fd = -1;
  explicit Descriptor(int d) : fd(d) {}
  ~Descriptor() {
    if (fd >= 0) ::close(fd);
  }
  Descriptor(const Descriptor&) = delete;
  Descriptor& operator=(const Descriptor&) = delete;
};

std::string directory_of(const std::string& path) {
  const std::string parent = std::filesystem::path(path).parent_path().string();
  return parent.empty() ? "." : parent;
}

// Whether a new file can be created in `directory`, creating nothing that stays: an unnamed
// O_TMPFILE where the file system has it (the directory is not even touched), else a named probe
// removed at once.
void check_can_create_in(const std::string& directory, const std::string& what) {
  struct stat st;
  if (::stat(directory.c_str(), &st) != 0) {
    const int err = errno;
    C2R_CHECK(err != ENOENT, what << ": directory " << directory << " does not exist");
    throw Error(what + ": cannot use directory " + directory + ": " + errno_text(err));
  }
  C2R_CHECK(S_ISDIR(st.st_mode), what << ": " << directory << " is not a directory");
  const int fd = ::open(directory.c_str(), O_TMPFILE | O_WRONLY | O_CLOEXEC, 0600);
  if (fd >= 0) {
    ::close(fd);
    return;
  }
  const int err = errno;
  if (err != EOPNOTSUPP && err != EISDIR && err != EINVAL) {
    throw Error(what + ": cannot create files in " + directory + ": " + errno_text(err));
  }
  std::string probe = directory + "/.c2rbench-probe-XXXXXX";
  const StopSignalsBlocked blocked;
  const int probe_fd = mkstemp(probe.data());
  if (probe_fd < 0) {
    throw Error(what + ": cannot create files in " + directory + ": " + errno_text(errno));
  }
  ::close(probe_fd);
  ::unlink(probe.c_str());
}

// `contents` in a new file with an unpredictable name next to `near` (mkstemp: O_CREAT | O_EXCL,
// so a file or symlink planted beforehand is never written through, and two writers never share
// one), removed unless published, including by a stop signal meanwhile.
class StagedFile {
 public:
  StagedFile(const std::string& near, const std::string& contents) : temp_(near + ".tmp.XXXXXX") {
    int fd = -1;
    {
      const StopSignalsBlocked blocked;  // no stop between creating and registering the file
      fd = mkstemp(temp_.data());
      if (fd >= 0) guard_ = std::make_unique<TemporaryFileGuard>(temp_);
    }
    C2R_CHECK(fd >= 0,
              "cannot create a temporary file next to " << near << ": " << errno_text(errno));
    const Descriptor file(fd);
    const char* data = contents.data();
    size_t left = contents.size();
    while (left > 0) {
      const ssize_t written = ::write(fd, data, left);
      if (written < 0 && errno == EINTR) continue;
      if (written <= 0) fail("cannot write " + near);
      data += written;
      left -= static_cast<size_t>(written);
    }
    // Reports are read by other users' tools: the usual permissions of a new file, not
    // mkstemp's 0600.
    const mode_t mask = umask(0);
    umask(mask);
    if (::fchmod(fd, 0666 & ~mask) != 0 || ::fsync(fd) != 0) fail("cannot write " + near);
  }
  ~StagedFile() { ::unlink(temp_.c_str()); }  // after a link, or a failure; gone after a rename
  StagedFile(const StagedFile&) = delete;
  StagedFile& operator=(const StagedFile&) = delete;

  // Publishes under `path` unless something is there (link(2) fails then: a concurrent writer is
  // never clobbered). Returns 0 or the errno.
  int link_to(const std::string& path) const {
    return ::link(temp_.c_str(), path.c_str()) == 0 ? 0 : errno;
  }
  void rename_to(const std::string& path) const {
    if (std::rename(temp_.c_str(), path.c_str()) != 0) {
      throw Error("cannot rename " + temp_ + " to " + path + ": " + errno_text(errno));
    }
  }

 private:
  // A failure in the constructor: the destructor will not run.
  [[noreturn]] void fail(const std::string& what) const {
    const int err = errno;
    ::unlink(temp_.c_str());
    throw Error(what + ": " + errno_text(err));
  }

  std::string temp_;
  std::unique_ptr<TemporaryFileGuard> guard_;
};

}  // namespace

std::string read_text_file(const std::string& path, int64_t max_bytes) {
  C2R_CHECK(!path.empty(), "an empty file name where a file was expected");
  // O_NONBLOCK: opening a FIFO must not wait for a writer; it is refused below.
  const int fd = ::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
  if (fd < 0) {
    const int err = errno;
    C2R_CHECK(err != ENOENT, "file not found: " << path);
    throw Error("cannot open " + path + ": " + errno_text(err));
  }
  const Descriptor file(fd);
  struct stat st;
  C2R_CHECK(::fstat(fd, &st) == 0, "cannot read " << path << ": " << errno_text(errno));
  C2R_CHECK(!S_ISDIR(st.st_mode), "expected a file, got a directory: " << path);
  C2R_CHECK(S_ISREG(st.st_mode), path << " is " << file_kind(st.st_mode) << ", not a regular file");
  C2R_CHECK(st.st_size <= max_bytes, path << " is " << st.st_size << " bytes, more than the "
                                          << max_bytes << " bytes an input file may have");
  std::string text;
  text.resize(static_cast<size_t>(st.st_size));
  size_t used = 0;
  for (;;) {
    if (used == text.size()) {
      // At the size fstat gave (or the file grew since): read on, up to one byte past the bound.
      C2R_CHECK(static_cast<int64_t>(used) <= max_bytes,
                path << " is more than the " << max_bytes << " bytes an input file may have");
      text.resize(std::min<size_t>(used + 65536, static_cast<size_t>(max_bytes) + 1));
    }
    const ssize_t got = ::read(fd, text.data() + used, text.size() - used);
    if (got < 0 && errno == EINTR) continue;
    C2R_CHECK(got >= 0, "cannot read " << path << ": " << errno_text(errno));
    if (got == 0) break;
    used += static_cast<size_t>(got);
  }
  text.resize(used);
  return text;
}

bool file_exists(const std::string& path) {
  std::error_code ec;
  return std::filesystem::exists(path, ec);
}

void check_new_output_path(const std::string& path, const std::string& flag) {
  C2R_CHECK(!path.empty(), flag << " is empty; give a file name");
  const std::string what = flag + " " + path;
  const std::filesystem::path p(path);
  const std::string name = p.filename().string();
  C2R_CHECK(!name.empty() && name != "." && name != "..",
            what << " names a directory; give a file name");
  C2R_CHECK(path.size() < PATH_MAX, what << " is longer than " << PATH_MAX - 1 << " bytes");
  for (const auto& part : p) {
    C2R_CHECK(part.string().size() <= NAME_MAX,
              what << ": a name in the path is longer than " << NAME_MAX << " bytes");
  }
  struct stat st;
  if (::lstat(path.c_str(), &st) == 0) {
    C2R_CHECK(!S_ISDIR(st.st_mode), what << " is a directory; give a file name");
    throw Error("refusing to overwrite existing file " + path + " (choose another " + flag + ")");
  }
  const int err = errno;
  C2R_CHECK(err != ENOTDIR, what << ": a parent in the path is not a directory");
  C2R_CHECK(err == ENOENT, what << ": " << errno_text(err));
  check_can_create_in(directory_of(path), what);
}

void write_file_atomically(const std::string& path, const std::string& contents, bool overwrite) {
  C2R_CHECK(overwrite || !file_exists(path), "refusing to overwrite existing file " << path);
  const StagedFile staged(path, contents);
  if (overwrite) {
    staged.rename_to(path);
    return;
  }
  const int err = staged.link_to(path);
  C2R_CHECK(err == 0, "cannot create " << path << ": " << errno_text(err));
}

OutputFile OutputFile::given(const std::string& path, const std::string& flag) {
  check_new_output_path(path, flag);
  OutputFile out;
  out.path_ = path;
  return out;
}

OutputFile OutputFile::fresh(const std::string& directory, const std::string& stem) {
  struct stat st;
  const std::string what = "the default output directory " + directory;
  if (::stat(directory.c_str(), &st) == 0) {
    check_can_create_in(directory, what);
  } else {
    check_can_create_in(directory_of(directory), what);  // created when the file is written
  }
  OutputFile out;
  out.directory_ = directory;
  out.stem_ = stem;
  return out;
}

std::string OutputFile::partial_path() const {
  return !path_.empty() ? path_ + ".partial"
                        : directory_ + "/" + stem_ + "-" + std::to_string(::getpid()) +
                              ".json.partial";
}

void OutputFile::check_partial_free(const std::string& flag) const {
  if (!path_.empty()) check_new_output_path(partial_path(), flag);
}

bool OutputFile::write_partial(const std::string& contents) const {
  try {
    if (path_.empty()) {
      std::error_code ec;
      std::filesystem::create_directories(directory_, ec);
      if (ec) return false;
    }
    write_file_atomically(partial_path(), contents, /*overwrite=*/true);
    return true;
  } catch (const Error&) {
    return false;
  }
}

void OutputFile::remove_partial() const {
  std::error_code ec;
  std::filesystem::remove(partial_path(), ec);  // absent: nothing to remove
}

std::string OutputFile::write(const std::string& contents) const {
  if (!path_.empty()) {
    write_file_atomically(path_, contents, /*overwrite=*/false);
    return path_;
  }
  std::error_code ec;
  std::filesystem::create_directories(directory_, ec);
  C2R_CHECK(!ec, "cannot create directory " << directory_ << ": " << ec.message());
  const std::string base = directory_ + "/" + stem_;
  const StagedFile staged(base, contents);
  for (int n = 1; n <= 1000; ++n) {
    const std::string path = base + (n == 1 ? "" : "-" + std::to_string(n)) + ".json";
    const int err = staged.link_to(path);
    if (err == 0) return path;
    C2R_CHECK(err == EEXIST, "cannot create " << path << ": " << errno_text(err));
  }
  throw Error("cannot find a free name " + base + "-N.json in " + directory_);
}

}  // namespace c2r
