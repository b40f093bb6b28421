// Atomic, never-overwriting writes and whole-file reads, on a scratch directory under /tmp.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <csignal>
#include <filesystem>
#include <string>
#include <vector>

#include "common/error.hpp"
#include "common/file_io.hpp"
#include "common/stop_signals.hpp"
#include "results/report.hpp"
#include "results/stats.hpp"

namespace c2r {
namespace {

struct TempDir {
  std::filesystem::path path;
  explicit TempDir(const std::string& tag)
      : path(std::filesystem::temp_directory_path() /
             ("c2r-unit-" + tag + "-" + std::to_string(getpid()))) {
    std::filesystem::remove_all(path);
    std::filesystem::create_directories(path);
  }
  ~TempDir() { std::filesystem::remove_all(path); }
  std::vector<std::string> names(const std::filesystem::path& dir) const {
    std::vector<std::string> out;
    for (const auto& entry : std::filesystem::directory_iterator(dir)) {
      out.push_back(entry.path().filename().string());
    }
    std::sort(out.begin(), out.end());
    return out;
  }
};

TEST(FileIo, OverwriteReplacesAtomicallyAndRefusalKeepsTheOriginal) {
  TempDir dir("overwrite");
  const std::string path = (dir.path / "a" / "b" / "c" / "out.json").string();
  // The directory must exist: a write never creates one (nothing is left on a failed run).
  EXPECT_THROW(write_file_atomically(path, "one\n", false), Error);
  EXPECT_EQ(dir.names(dir.path), std::vector<std::string>{});
  std::filesystem::create_directories(dir.path / "a" / "b" / "c");
  write_file_atomically(path, "one\n", false);
  EXPECT_TRUE(file_exists(path));
  try {
    write_file_atomically(path, "two\n", false);
    FAIL() << "overwrote without permission";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(path), std::string::npos) << e.what();
  }
  EXPECT_EQ(read_text_file(path), "one\n");
  write_file_atomically(path, std::string("bin\0ary", 7), true);
  EXPECT_EQ(read_text_file(path), std::string("bin\0ary", 7));
  EXPECT_EQ(dir.names(dir.path / "a" / "b" / "c"), (std::vector<std::string>{"out.json"}));
  const std::string empty = (dir.path / "empty.txt").string();
  write_file_atomically(empty, "", false);
  EXPECT_EQ(read_text_file(empty), "");
  EXPECT_EQ(dir.names(dir.path), (std::vector<std::string>{"a", "empty.txt"}));
}

TEST(FileIo, FailuresNameThePath) {
  TempDir dir("failures");
  const std::string blocker = (dir.path / "plain").string();
  write_file_atomically(blocker, "x", false);
  // A parent that is a regular file cannot be created.
  EXPECT_THROW(write_file_atomically(blocker + "/child.json", "y", false), Error);
  EXPECT_EQ(read_text_file(blocker), "x");
  for (const std::string& bad :
       {(dir.path / "nope" / "missing.json").string(), dir.path.string()}) {
    try {
      read_text_file(bad);
      ADD_FAILURE() << "read " << bad;
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find(bad), std::string::npos) << e.what();
    }
  }
  EXPECT_FALSE(file_exists((dir.path / "nope").string()));
}

TEST(ReportFile, WriteAndReadAFile) {
  TempDir dir("report");
  nlohmann::json results = nlohmann::json::array();
  results.push_back({{"phases", {{"layer", stats_json({5, 6, 7})}}}});
  const nlohmann::json report = make_report({{"ranks", 4}}, {{"tokens_per_rank", 32}}, results);
  const std::string path = (dir.path / "runs" / "r1.json").string();
  std::filesystem::create_directories(dir.path / "runs");
  write_report(path, report);
  EXPECT_EQ(read_report(path), report);
  EXPECT_THROW(write_report(path, make_report({}, {}, nlohmann::json::array())), Error);
  EXPECT_EQ(read_report(path), report);
  EXPECT_EQ(dir.names(dir.path / "runs"), (std::vector<std::string>{"r1.json"}));
  try {
    read_report((dir.path / "r2.json").string());
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("r2.json"), std::string::npos) << e.what();
  }
}

TEST(FileIo, AtomicWriteRefusesToOverwriteAndLeavesNoTemporaries) {
  namespace fs = std::filesystem;
  const fs::path dir = fs::temp_directory_path() / ("c2r-unit-" + std::to_string(getpid()));
  const std::string path = (dir / "sub" / "report.json").string();
  fs::create_directories(dir / "sub");
  write_file_atomically(path, "first", false);
  EXPECT_EQ(read_text_file(path), "first");
  EXPECT_THROW(write_file_atomically(path, "second", false), Error);
  EXPECT_EQ(read_text_file(path), "first");
  int files = 0;
  for (const auto& entry : fs::directory_iterator(dir / "sub")) files += entry.is_regular_file();
  EXPECT_EQ(files, 1);
  try {
    read_text_file((dir / "missing.json").string());
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("missing.json"), std::string::npos);
  }
  fs::remove_all(dir);
}

// The temporary file is created exclusively under an unpredictable name: a symlink planted where a
// predictable temporary would go (or at the target) is never written through.
TEST(FileIo, AtomicWriteNeverFollowsAPlantedSymlink) {
  namespace fs = std::filesystem;
  const fs::path dir = fs::temp_directory_path() / ("c2r-symlink-" + std::to_string(getpid()));
  fs::create_directories(dir);
  const std::string victim = (dir / "victim.txt").string();
  write_file_atomically(victim, "precious", false);
  const std::string path = (dir / "report.json").string();
  fs::create_symlink(victim, path + ".tmp." + std::to_string(getpid()));
  write_file_atomically(path, "report", false);
  EXPECT_EQ(read_text_file(path), "report");
  EXPECT_EQ(read_text_file(victim), "precious");
  // A symlink at the target itself: refused, the file it points to untouched.
  const std::string linked = (dir / "linked.json").string();
  fs::create_symlink(victim, linked);
  EXPECT_THROW(write_file_atomically(linked, "overwrite", false), Error);
  EXPECT_EQ(read_text_file(victim), "precious");
  // A new file gets the usual permissions (0666 less the umask), not the temporary's 0600.
  const mode_t mask = umask(022);
  write_file_atomically((dir / "mode.json").string(), "x", false);
  umask(mask);
  EXPECT_EQ(fs::status(dir / "mode.json").permissions() & fs::perms::all,
            fs::perms::owner_read | fs::perms::owner_write | fs::perms::group_read |
                fs::perms::others_read);
  // Nothing but the files written and the planted links is left behind.
  int entries = 0;
  for (const auto& entry : fs::directory_iterator(dir)) {
    (void)entry;
    ++entries;
  }
  EXPECT_EQ(entries, 5);  // victim, report, planted link, linked, mode
  fs::remove_all(dir);
}

// An input is a regular file read with a bound: a FIFO (which would block), a device, a directory
// or an oversized file is refused at once, naming the path.
TEST(FileIo, ReadRefusesWhatIsNotABoundedRegularFile) {
  TempDir dir("inputs");
  const std::string fifo = (dir.path / "pipe").string();
  ASSERT_EQ(mkfifo(fifo.c_str(), 0600), 0);
  const std::string big = (dir.path / "big.json").string();
  write_file_atomically(big, std::string(4096, ' '), false);
  const std::string loop = (dir.path / "loop").string();
  std::filesystem::create_symlink(loop, loop);
  const std::vector<std::pair<std::string, std::string>> cases = {
      {fifo, "named pipe"},
      {"/dev/zero", "character device"},
      {dir.path.string(), "directory"},
      {loop, "symbolic links"},
      {(dir.path / "none").string(), "not found"}};
  for (const auto& [path, why] : cases) {
    try {
      read_text_file(path);
      ADD_FAILURE() << "read " << path;
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find(path), std::string::npos) << e.what();
      EXPECT_NE(std::string(e.what()).find(why), std::string::npos) << e.what();
    }
  }
  EXPECT_EQ(read_text_file(big, 4096).size(), 4096u);
  try {
    read_text_file(big, 4095);
    ADD_FAILURE() << "read past the bound";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("4095"), std::string::npos) << e.what();
  }
}

// An output path is checked before any work, and the check leaves nothing behind.
TEST(FileIo, OutputPathsAreCheckedUpFrontAndNothingIsCreated) {
  TempDir dir("outputs");
  const std::string file = (dir.path / "taken.json").string();
  write_file_atomically(file, "x", false);
  std::filesystem::create_symlink(dir.path / "nowhere", dir.path / "dangling.json");
  const std::vector<std::pair<std::string, std::string>> refused = {
      {"", "is empty"},
      {(dir.path / "newdir/").string(), "names a directory"},
      {(dir.path / "..").string(), "names a directory"},
      {file, "refusing to overwrite"},
      {(dir.path / "dangling.json").string(), "refusing to overwrite"},
      {(dir.path / "missing" / "r.json").string(), "does not exist"},
      {file + "/r.json", "not a directory"},
      {(dir.path / std::string(300, 'n')).string(), "longer than"},
      {"/proc/c2r-report.json", "cannot create files in /proc"}};
  for (const auto& [path, why] : refused) {
    try {
      check_new_output_path(path, "--out");
      ADD_FAILURE() << "accepted " << path;
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find(why), std::string::npos) << e.what();
    }
  }
  check_new_output_path((dir.path / "new.json").string(), "--out");
  EXPECT_EQ(dir.names(dir.path), (std::vector<std::string>{"dangling.json", "taken.json"}));
}

// Default names are taken when written, with link(2): two writers in the same second get two
// files, and the directory appears only when something is written into it.
TEST(FileIo, FreshOutputNamesAreNeverShared) {
  TempDir dir("fresh");
  const std::string results = (dir.path / "results").string();
  const OutputFile first = OutputFile::fresh(results, "c2rbench-20260101-000000");
  const OutputFile second = OutputFile::fresh(results, "c2rbench-20260101-000000");
  EXPECT_FALSE(std::filesystem::exists(results));
  const std::string a = first.write("a");
  const std::string b = second.write("b");
  EXPECT_NE(a, b);
  EXPECT_EQ(read_text_file(a), "a");
  EXPECT_EQ(read_text_file(b), "b");
  EXPECT_EQ(dir.names(results), (std::vector<std::string>{"c2rbench-20260101-000000-2.json",
                                                          "c2rbench-20260101-000000.json"}));
}

// A stop signal removes the temporary files being written and exits with 128 + the signal.
TEST(StopSignalsDeathTest, StopRemovesTemporaryFilesAndExitsWith128PlusTheSignal) {
  TempDir dir("signal");
  const std::string temp = (dir.path / "report.json.tmp.abcdef").string();
  EXPECT_EXIT(
      {
        install_stop_handlers(0);
        write_file_atomically(temp, "partial", false);
        const TemporaryFileGuard guard(temp);
        std::raise(SIGTERM);
      },
      ::testing::ExitedWithCode(kSignalExitBase + SIGTERM), "stopped by SIGTERM");
  EXPECT_FALSE(std::filesystem::exists(temp));
}

}  // namespace
}  // namespace c2r
