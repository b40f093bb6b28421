// Regression tests for what fuzzing the file readers found (fuzz/, docs/RELIABILITY.md): each
// input, minimized, is refused with one c2r::Error naming the file and the problem, instead of the
// escaped nlohmann::json exception, crash or undefined behaviour it caused before.
#include <gtest/gtest.h>

#include <filesystem>
#include <functional>
#include <sstream>
#include <string>

#include "common/error.hpp"
#include "common/file_io.hpp"
#include "model/placement.hpp"
#include "model/reference_data.hpp"
#include "results/compare.hpp"
#include "results/html_report.hpp"
#include "results/report.hpp"
#include "results/table.hpp"
#include "tuner/cluster_model.hpp"
#include "tuner/topology.hpp"

namespace c2r {
namespace {

using Reader = std::function<void(const std::string& text, const std::string& source)>;

// `read` refuses `text` with a c2r::Error naming the file and containing `needle`.
void expect_refused(const Reader& read, const std::string& text, const std::string& needle) {
  try {
    read(text, "found.json");
    ADD_FAILURE() << "accepted: " << text;
  } catch (const Error& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("found.json"), std::string::npos) << what;
    EXPECT_NE(what.find(needle), std::string::npos) << "expected '" << needle << "' in: " << what;
  }
}

const Reader kCollaborationMatrix = [](const std::string& t, const std::string& s) {
  parse_collaboration_matrix(t, s);
};
const Reader kCollaborativeList = [](const std::string& t, const std::string& s) {
  parse_collaborative_list(t, s);
};
const Reader kPlacementFile = [](const std::string& t, const std::string& s) {
  parse_placement_file(t, s);
};
const Reader kClusterProfile = [](const std::string& t, const std::string& s) {
  parse_cluster_profile(t, s);
};
const Reader kClusterSpec = [](const std::string& t, const std::string& s) {
  parse_cluster_spec(t, s);
};
const Reader kReport = [](const std::string& t, const std::string& s) { parse_report(t, s); };
const Reader kReportTuning = [](const std::string& t, const std::string& s) {
  parse_report_tuning(t, s);
};

// A number beyond a double's range is nlohmann's out_of_range.406, not a parse_error: it escaped
// every reader.
TEST(FuzzFindings, NumberTooLargeForADoubleIsMalformedJson) {
  for (const Reader& read : {kCollaborationMatrix, kCollaborativeList, kPlacementFile,
                             kClusterProfile, kClusterSpec, kReport, kReportTuning}) {
    expect_refused(read, "{\"format\": 1e999}", "malformed JSON");
    expect_refused(read, "[-4e400]", "malformed JSON");
  }
}

// Integers beyond int were narrowed by get<int>(): 4294967296 read as 0, a valid expert or rank.
TEST(FuzzFindings, IntegersBeyondIntAreNotNarrowed) {
  const std::string list_head =
      "{\"format\":\"expert-collaborative-list/v1\",\"num_layers\":1,\"num_experts\":2,"
      "\"top_k\":1,\"order\":[[[";
  expect_refused(kCollaborativeList, list_head + "4294967296,1],[1,0]]]}", "not a permutation");
  expect_refused(kCollaborativeList,
                 "{\"format\":\"expert-collaborative-list/v1\",\"num_layers\":4294967297,"
                 "\"num_experts\":1,\"top_k\":1,\"order\":[[[0]]]}",
                 "\"num_layers\" must be a positive integer");
  const std::string placement_head =
      "{\"schema\":\"c2rbench.placement\",\"schema_version\":1,\"experts\":2,\"ranks\":1,";
  expect_refused(kPlacementFile, placement_head + "\"expert_rank\":[4294967296,0]}",
                 "\"expert_rank\" holds a non-integer or out-of-range value");
  expect_refused(kPlacementFile,
                 placement_head + "\"layers\":[{\"layer\":4294967296,\"expert_rank\":[0,0]}]}",
                 "every \"layers\" entry needs \"layer\"");
  expect_refused(kPlacementFile,
                 "{\"schema\":\"c2rbench.placement\",\"schema_version\":4294967297,\"experts\":2,"
                 "\"ranks\":1,\"expert_rank\":[0,0]}",
                 "schema_version");
}

// value("schema", "") and value("name", ...) threw type_error when the field held another type.
TEST(FuzzFindings, FieldsOfAnotherTypeAreRefusedByName) {
  expect_refused(kPlacementFile, "{\"schema\":5}", "\"schema\" must be a string");
  expect_refused(kPlacementFile,
                 "{\"schema\":\"c2rbench.tuning\",\"schema_version\":1,\"experts\":2,\"ranks\":1,"
                 "\"model\":{\"preset\":7},\"expert_rank\":[0,0]}",
                 "\"preset\" must be a string");
  expect_refused(kClusterProfile, "{\"schema\":[]}", "\"schema\" must be a string");
  expect_refused(kClusterProfile, "{\"schema\":\"c2rbench.cluster\",\"schema_version\":\"1\"}",
                 "\"schema_version\" must be an integer");
  expect_refused(kClusterSpec,
                 "{\"schema\":\"c2rbench.cluster-spec\",\"schema_version\":1,\"name\":8}",
                 "\"name\" must be a string");
  expect_refused(kReportTuning, "{\"schema\":5}", "\"schema\" must be a string");
}

const std::string kProfileHead = "{\"schema\":\"c2rbench.cluster\",\"schema_version\":1,";
const std::string kPlace =
    "{\"rank\":0,\"host\":\"h\",\"cpuset\":\"0\",\"packages\":[0],\"numa_nodes\":[0],"
    "\"cores\":1,\"nearby_devices\":[]";
const std::string kOneRankTail =
    "\"latency_s\":[0],\"bandwidth_Bps\":[0],\"alltoall\":{\"bytes\":[1,2],\"seconds\":[1,2],"
    "\"fit_latency_s\":0,\"fit_bandwidth_Bps\":1}}";

// A cluster profile's numbers were converted without a check: 1e300 as an int is undefined
// behaviour, a node index past the ranks indexed past the cost model's per-node counts, and fewer
// all2all times than sizes read past the times when the profile was printed.
TEST(FuzzFindings, ClusterProfileNumbersAreCheckedBeforeUse) {
  expect_refused(kClusterProfile, kProfileHead + "\"ranks\":1e300," + kOneRankTail,
                 "\"ranks\" must be a positive integer");
  expect_refused(
      kClusterProfile,
      kProfileHead + "\"ranks\":1,\"places\":[" + kPlace + ",\"node\":7}]," + kOneRankTail,
      "places[0]: \"node\" must be a node index below ranks");
  expect_refused(
      kClusterProfile,
      kProfileHead + "\"ranks\":1,\"places\":[" + kPlace + ",\"cores\":2.5e300}]," + kOneRankTail,
      "\"cores\" must be a core count");
  expect_refused(kClusterProfile,
                 kProfileHead + "\"ranks\":1,\"places\":[" + kPlace +
                     "}],\"latency_s\":[0],\"bandwidth_Bps\":[0],\"alltoall\":{\"bytes\":[1,2],"
                     "\"seconds\":[1],\"fit_latency_s\":0,\"fit_bandwidth_Bps\":1}}",
                 "alltoall has 2 sizes but 1 times");
  // The well-formed profile these are made from is accepted and printed.
  const ClusterProfile ok = parse_cluster_profile(
      kProfileHead + "\"ranks\":1,\"places\":[" + kPlace + "}]," + kOneRankTail, "found.json");
  std::ostringstream out;
  print_cluster_profile(out, ok);
  EXPECT_EQ(cluster_model_from_profile(ok, ComputeRates{}).nodes(), 1);
}

const std::string kSpecHead =
    "{\"schema\":\"c2rbench.cluster-spec\",\"schema_version\":1,\"intra_node\":{\"latency_us\":1,"
    "\"bandwidth_GBps\":1},\"inter_node\":{\"latency_us\":1,\"bandwidth_GBps\":1},"
    "\"expert_gemm_tflops\":1,\"memory_GBps\":1,";

// "nodes" was cast to int before its range was known (undefined behaviour for 1e300), and a
// product of a million nodes by a million GPUs allocated a node index per simulated rank.
TEST(FuzzFindings, DescribedClusterSizeIsBoundedBeforeConversion) {
  expect_refused(kClusterSpec, kSpecHead + "\"nodes\":1e300,\"gpus_per_node\":8}",
                 "more than c2rbench simulates");
  expect_refused(kClusterSpec, kSpecHead + "\"nodes\":1000000,\"gpus_per_node\":1000000}",
                 "more than c2rbench simulates");
  expect_refused(kClusterSpec, kSpecHead + "\"nodes\":2.5,\"gpus_per_node\":8}",
                 "must be whole numbers");
  EXPECT_EQ(parse_cluster_spec(kSpecHead + "\"nodes\":2,\"gpus_per_node\":4}", "s.json").ranks, 8);
}

// A report field the consumers read with a type other than the one they expect escaped as
// type_error from compare and the HTML page; a ragged dispatch matrix was read past its end.
TEST(FuzzFindings, ReportFieldsConsumersReadAreTypeChecked) {
  const std::string head =
      "{\"schema\":\"c2rbench.report\",\"schema_version\":1,\"context\":{},\"config\":{},"
      "\"results\":[";
  expect_refused(kReport, head + "{\"phases\":{},\"routing\":5}]}", "results[0].routing must be");
  expect_refused(kReport, head + "{\"phases\":{\"layer\":3}}]}",
                 "results[0].phases.layer must be an object");
  expect_refused(kReport, head + "{\"phases\":{\"layer\":{\"samples_us\":[1,\"x\"]}}}]}",
                 "results[0].phases.layer.samples_us must be an array of non-negative numbers");
  expect_refused(kReport, head + "{\"phases\":{},\"traffic\":{\"dispatch_bytes\":[[1,2],[3]]}}]}",
                 "results[0].traffic.dispatch_bytes must be a square matrix");
  expect_refused(kReport, head + "{\"phases\":{},\"check\":{\"wrong_rows\":0.5}}]}",
                 "results[0].check.wrong_rows must be a non-negative integer");
  expect_refused(kReport,
                 "{\"schema\":\"c2rbench.report\",\"schema_version\":1,\"context\":{},"
                 "\"config\":{\"model\":{\"preset\":1}},\"results\":[]}",
                 "config.model.preset must be a string");
}

// The run table read every section of every cell with const operator[]: a report without traffic,
// load, efficiency or check (the PyTorch peer writes such reports) was undefined behaviour.
TEST(FuzzFindings, RunTableOfAReportWithoutTrafficOrLoad) {
  const Report report = report_from_json(
      parse_report(
          "{\"schema\":\"c2rbench.report\",\"schema_version\":1,\"context\":{},\"config\":"
          "{\"backend\":\"pytorch\"},\"results\":[{\"routing\":\"vanilla\",\"top_t\":null,"
          "\"strategy\":\"dropless\",\"placement\":\"contiguous\",\"layer\":0,\"baseline\":true,"
          "\"phases\":{\"layer\":{\"median_us\":12.5,\"samples_us\":[12.5]}}},{\"phases\":{}}]}",
          "peer.json"),
      "peer.json");
  std::ostringstream out;
  print_run_table(out, report.config, report.results);
  EXPECT_NE(out.str().find("vanilla*"), std::string::npos) << out.str();
  EXPECT_NE(out.str().find("n/a"), std::string::npos) << out.str();
  CompareOptions options;
  options.resamples = 100;
  const nlohmann::json c = compare_reports({report, report}, {"peer.json", "peer.json"}, options);
  EXPECT_EQ(c["regressions"], 0);
  EXPECT_NE(render_html({report}, {"peer.json"}, std::nullopt).find("</html>"), std::string::npos);
}

// The HTML page's tuning scatter read every point's predicted and measured layer time with const
// operator[]: a point without them was undefined behaviour.
TEST(FuzzFindings, TuningValidationPointsAreChecked) {
  const std::string head = "{\"schema\":\"c2rbench.tuning\",\"schema_version\":1,\"validation\":";
  expect_refused(kReportTuning, head + "[]}", "validation must be an object");
  expect_refused(kReportTuning,
                 head + "{\"points\":[{\"layer\":0,\"predicted\":{\"layer_us\":1}}]}}",
                 "validation.points[0].measured.layer_us must be a number");
  expect_refused(kReportTuning, head + "{\"points\":[{\"predicted\":{}}]}}",
                 "validation.points[0] needs an integer \"layer\"");
  const Tuning ok = parse_report_tuning(
      head +
          "{\"points\":[{\"layer\":0,\"placement\":\"tuned\",\"predicted\":{\"layer_us\":1},"
          "\"measured\":{\"layer_us\":2}}]}}",
      "t.json");
  EXPECT_NE(render_html({}, {}, ok).find("scatter-point"), std::string::npos);
}

// Values that cannot be in a profile `topo` wrote: negative latencies, bandwidths and times, and
// a rank placed twice (with as many places as ranks, another rank is then unplaced).
TEST(FuzzFindings, ClusterProfileValuesThatCannotBe) {
  auto place = [](int rank) {  // kPlace with another rank
    return "{\"rank\":" + std::to_string(rank) + kPlace.substr(kPlace.find(',')) + "}";
  };
  const std::string two_places = "\"ranks\":2,\"places\":[" + place(0) + "," + place(0) + "],";
  const std::string tail =
      ",\"alltoall\":{\"bytes\":[1,2],\"seconds\":[1e-6,2e-6],\"fit_latency_s\":-1e-7,"
      "\"fit_bandwidth_Bps\":1e9}}";
  expect_refused(kClusterProfile,
                 kProfileHead + two_places +
                     "\"latency_s\":[0,1e-6,1e-6,0],\"bandwidth_Bps\":[0,1e9,1e9,0]" + tail,
                 "places[1]: rank 0 is already places[0]");
  const std::string distinct = "\"ranks\":2,\"places\":[" + place(0) + "," + place(1) + "],";
  expect_refused(kClusterProfile,
                 kProfileHead + distinct +
                     "\"latency_s\":[0,-1e-6,1e-6,0],\"bandwidth_Bps\":[0,1e9,1e9,0]" + tail,
                 "\"latency_s\" holds -1e-06, below 0");
  expect_refused(kClusterProfile,
                 kProfileHead + distinct +
                     "\"latency_s\":[0,1e-6,1e-6,0],\"bandwidth_Bps\":[0,1e9,-1e9,0]" + tail,
                 "\"bandwidth_Bps\" holds -1e+09, below 0");
  // The fitted all2all latency is an intercept, which noise can put below 0: accepted.
  const ClusterProfile ok = parse_cluster_profile(
      kProfileHead + distinct + "\"latency_s\":[0,1e-6,1e-6,0],\"bandwidth_Bps\":[0,1e9,1e9,0]" +
          tail,
      "found.json");
  EXPECT_EQ(ok.places[1].rank, 1);
}

// The seeds of every reader's fuzz target are real files of their kind: each is still read, and a
// report's seed compared with itself.
TEST(FuzzFindings, EverySeedOfTheCorpusIsStillRead) {
  const std::filesystem::path corpus =
      std::filesystem::path(C2R_TEST_DATA_DIR) / ".." / "fuzz" / "corpus";
  const std::vector<std::pair<std::string, Reader>> targets = {
      {"report", kReport},
      {"report_tuning", kReportTuning},
      {"placement_file", kPlacementFile},
      {"cluster_profile", kClusterProfile}};
  for (const auto& [target, read] : targets) {
    int seeds = 0;
    for (const auto& entry : std::filesystem::directory_iterator(corpus / target)) {
      const std::string path = entry.path().string();
      EXPECT_NO_THROW(read(read_text_file(path), path)) << path;
      if (target == "report") {
        const Report report = load_report(path);
        CompareOptions options;
        options.resamples = 100;
        EXPECT_NO_THROW(compare_reports({report, report}, {path, path}, options)) << path;
      }
      ++seeds;
    }
    EXPECT_GT(seeds, 0) << target;
  }
}

}  // namespace
}  // namespace c2r
