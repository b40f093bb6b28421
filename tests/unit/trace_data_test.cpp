// The trace workload routes with its data or fails naming it: a data directory that is not one, or
// a trace file it lacks, is an error, never a synthetic routing under the trace's name.

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "bench/routing_source.hpp"
#include "common/communicator.hpp"
#include "common/error.hpp"
#include "model/data_store.hpp"

namespace c2r {
namespace {

// A fresh empty directory, removed with the test.
class EmptyDirectory {
 public:
  EmptyDirectory() {
    std::string pattern = (std::filesystem::temp_directory_path() / "c2r-data-XXXXXX").string();
    EXPECT_NE(mkdtemp(pattern.data()), nullptr);
    path_ = pattern;
  }
  ~EmptyDirectory() { std::filesystem::remove_all(path_); }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// The message of the all-ranks error `body` raises ("" when it raises none).
template <typename Body>
std::string all_ranks_error(Body body) {
  try {
    body();
  } catch (const Error& e) {
    EXPECT_TRUE(e.raised_on_all_ranks()) << e.what();
    return e.what();
  }
  return "";
}

WorkloadSpec trace_workload() {
  WorkloadSpec w;
  w.kind = WorkloadKind::kTrace;
  return w;
}

TEST(TraceData, RefusesADataDirectoryThatIsNotOne) {
  const Communicator comm(MPI_COMM_WORLD);
  const EmptyDirectory dir;
  const std::string missing = dir.path() + "/nowhere";
  EXPECT_EQ(all_ranks_error([&] { DataStore data(comm, missing); }),
            "data directory " + missing + " does not exist");
  const std::string file = dir.path() + "/file";
  std::ofstream(file) << "{}";
  EXPECT_EQ(all_ranks_error([&] { DataStore data(comm, file); }),
            "data directory " + file + " is not a directory");
  DataStore data(comm, dir.path());
  EXPECT_FALSE(data.reference_file_exists("llama-moe-3.5b-vanilla.json"));
}

TEST(TraceData, PairTraceIsDecidedByTheModelNotByTheFiles) {
  ModelConfig llama = make_model("llama-moe-3.5b", {});
  EXPECT_TRUE(uses_pair_trace(llama, trace_workload()));
  EXPECT_FALSE(uses_pair_trace(llama, WorkloadSpec{}));  // random
  EXPECT_FALSE(uses_pair_trace(make_model("qwen1.5-moe-a2.7b", {}), trace_workload()));

  // An empty data directory: the top-2 trace still routes by its pairs, so the missing file is an
  // error naming it, whatever the routing.
  const Communicator comm(MPI_COMM_WORLD);
  const EmptyDirectory dir;
  DataStore data(comm, dir.path());
  const WorkloadSpec workload = trace_workload();
  RoutingSource source(llama, workload, 0, 16, comm, data);
  EXPECT_TRUE(source.pair_trace());
  const std::string vanilla =
      "file not found: " + dir.path() + "/reference/llama-moe-3.5b-vanilla.json";
  EXPECT_EQ(all_ranks_error([&] { source.check_data(0, RoutingMode::kVanilla, 0); }), vanilla);
  EXPECT_EQ(all_ranks_error([&] { source.expert_ids(0, RoutingMode::kVanilla, 0); }), vanilla);
  EXPECT_EQ(all_ranks_error([&] { source.batch(0, RoutingMode::kVanilla, 0); }), vanilla);
}

// A trace without pairs (Qwen's: its collaborative lists only) needs its list whatever the routing,
// vanilla included.
TEST(TraceData, TraceWithoutPairsNeedsItsListForEveryRouting) {
  const Communicator comm(MPI_COMM_WORLD);
  const EmptyDirectory dir;
  DataStore data(comm, dir.path());
  const ModelConfig qwen = make_model("qwen1.5-moe-a2.7b", {});
  const WorkloadSpec workload = trace_workload();
  EXPECT_EQ(
      all_ranks_error([&] { RoutingSource source(qwen, workload, 0, 16, comm, data); }),
      "file not found: " + dir.path() + "/reference/qwen1.5-moe-a2.7b-collaborative-list.json");

  DataStore builtin(comm, C2R_TEST_DATA_DIR);
  RoutingSource source(qwen, workload, 0, 16, comm, builtin);
  EXPECT_EQ(all_ranks_error([&] { source.check_data(23, RoutingMode::kVanilla, 0); }), "");
}

TEST(TraceData, ChecksTheLayerAndTheModelOfTheData) {
  const Communicator comm(MPI_COMM_WORLD);
  DataStore data(comm, C2R_TEST_DATA_DIR);
  const WorkloadSpec workload = trace_workload();
  const ModelConfig llama = make_model("llama-moe-3.5b", {});
  RoutingSource source(llama, workload, 0, 16, comm, data);
  EXPECT_EQ(all_ranks_error([&] { source.check_data(31, RoutingMode::kC2R, 2); }), "");
  const std::string vanilla = data.reference_path("llama-moe-3.5b-vanilla.json");
  EXPECT_EQ(all_ranks_error([&] { source.check_data(32, RoutingMode::kVanilla, 0); }),
            "layer 32 is not in " + vanilla + " (layers 0..31)");

  ModelOverrides wider;
  wider.experts = 16;
  const ModelConfig other = make_model("llama-moe-3.5b", wider);
  RoutingSource other_source(other, workload, 0, 16, comm, data);
  EXPECT_EQ(all_ranks_error([&] { other_source.check_data(0, RoutingMode::kVanilla, 0); }),
            vanilla + " is for 8 experts and top-2; the model has 16 experts and top-2");
}

}  // namespace
}  // namespace c2r
