// `run --workload trace --trace FILE`: a user's trace, read through the data store, makes the model
// (its experts, top-k and layers), and its designed tokens make the gate choose exactly the
// trace's experts, in order; every option that contradicts the trace is refused by name.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "bench/routing_source.hpp"
#include "cli/options.hpp"
#include "common/communicator.hpp"
#include "common/error.hpp"
#include "common/file_io.hpp"
#include "common/rng.hpp"
#include "model/data_store.hpp"
#include "model/npy.hpp"
#include "model/reference_data.hpp"

namespace c2r {
namespace {

using nlohmann::json;

constexpr int kExperts = 16;
constexpr int kTopK = 4;

// A fresh directory holding a trace of 16 experts, top-4: layers 0 (37 tokens, inline, with
// weights), 2 (50 tokens, .npy) and 5 (20 tokens, inline); removed with the test.
class TraceDirectory {
 public:
  TraceDirectory() {
    std::string pattern = (std::filesystem::temp_directory_path() / "c2r-trace-XXXXXX").string();
    EXPECT_NE(mkdtemp(pattern.data()), nullptr);
    path_ = pattern;
    json layers = json::array();
    for (const auto& [layer, tokens] : {std::pair{0, 37}, std::pair{2, 50}, std::pair{5, 20}}) {
      rows_[layer] = random_rows(tokens, layer);
      json entry = {{"layer", layer}};
      if (layer == 2) {
        write("ids2.npy", npy_file_bytes(NpyType::kInt32, {tokens, kTopK}, rows_[layer].data()));
        entry["expert_ids_npy"] = "ids2.npy";
      } else {
        json ids = json::array();
        for (int t = 0; t < tokens; ++t) {
          ids.push_back(std::vector<int32_t>(rows_[layer].begin() + t * kTopK,
                                             rows_[layer].begin() + (t + 1) * kTopK));
        }
        entry["expert_ids"] = ids;
        if (layer == 0) entry["weights"] = json::array();
        for (int t = 0; t < tokens && layer == 0; ++t) {
          entry["weights"].push_back({0.4, 0.3, 0.2, 0.1});
        }
      }
      layers.push_back(entry);
    }
    write("trace.json", json{{"schema", "c2rbench.trace"},
                             {"schema_version", 1},
                             {"experts", kExperts},
                             {"top_k", kTopK},
                             {"model", "test"},
                             {"layers", layers}}
                            .dump());
  }
  ~TraceDirectory() { std::filesystem::remove_all(path_); }
  std::string trace() const { return path_ + "/trace.json"; }
  const std::string& path() const { return path_; }
  // Rows of `layer`, [tokens x k].
  const std::vector<int32_t>& rows(int layer) const { return rows_.at(layer); }

 private:
  void write(const std::string& name, const std::string& bytes) const {
    std::ofstream(path_ + "/" + name, std::ios::binary) << bytes;
  }
  // Seeded rows of distinct experts, skewed so that the co-activation has structure.
  static std::vector<int32_t> random_rows(int tokens, int layer) {
    std::vector<int32_t> rows;
    Rng rng(7, Stream::kTracePair, 0, layer);
    for (int t = 0; t < tokens; ++t) {
      std::vector<int32_t> row;
      while (static_cast<int>(row.size()) < kTopK) {
        const int32_t e = static_cast<int32_t>(rng.below(row.empty() ? kExperts : 8));
        const int32_t pick = row.empty() ? e : (row[0] + e) % kExperts;
        if (std::find(row.begin(), row.end(), pick) == row.end()) row.push_back(pick);
      }
      rows.insert(rows.end(), row.begin(), row.end());
    }
    return rows;
  }

  std::string path_;
  std::map<int, std::vector<int32_t>> rows_;
};

RunOptions trace_options(const std::string& file) {
  RunOptions o;
  o.workload.trace = file;
  o.workload.overrides.hidden = 64;
  o.workload.overrides.ffn = 32;
  o.workload.tokens = 24;
  return o;
}

void expect_refused(const RunOptions& o, int ranks, const RoutingTrace& trace,
                    const std::string& needle) {
  try {
    resolve_run_config(o, ranks, &trace);
    ADD_FAILURE() << "accepted; expected: " << needle;
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
  }
}

std::vector<int32_t> route(const TokenBatch& batch, const ModelConfig& model,
                           const GateSpec& gate) {
  std::vector<float> logits(batch.tokens * model.experts), weights(batch.tokens * model.top_k);
  std::vector<int32_t> ids(batch.tokens * model.top_k);
  router_logits(batch.x.data(), batch.tokens, model.hidden, batch.w_router.data(), model.experts,
                logits.data());
  select_experts(logits.data(), batch.tokens, gate, ids.data(), weights.data());
  return ids;
}

TEST(UserTrace, MakesTheModelFromTheTrace) {
  const Communicator comm(MPI_COMM_WORLD);
  const TraceDirectory dir;
  DataStore data(comm, C2R_TEST_DATA_DIR);
  RunOptions o = trace_options(dir.trace());
  const RoutingTrace* trace = read_user_trace(o.workload, data);
  ASSERT_NE(trace, nullptr);
  EXPECT_EQ(read_user_trace(o.workload, data), trace);  // read once
  EXPECT_EQ(trace->find(2)->expert_ids, dir.rows(2));   // the .npy layer, relative to the trace

  o.layer = "all";
  const RunConfig c = resolve_run_config(o, 2, trace);
  EXPECT_EQ(c.model.preset, "custom");
  EXPECT_EQ(c.model.experts, kExperts);
  EXPECT_EQ(c.model.top_k, kTopK);
  EXPECT_EQ(c.model.hidden, 64);
  EXPECT_EQ(c.model.ffn, 32);
  EXPECT_EQ(c.model.shared_ffn, 0);
  EXPECT_EQ(c.layers, (std::vector<int>{0, 2, 5}));
  EXPECT_EQ(c.workload.trace_file, dir.trace());
  EXPECT_EQ(c.to_json(ProcessOptions{})["workload"]["trace"], dir.trace());
  // C2R's default Top-T: 2k.
  EXPECT_EQ(c.cells.back().top_t, 2 * kTopK);
  o.layer = "5,2";
  EXPECT_EQ(resolve_run_config(o, 4, trace).layers, (std::vector<int>{5, 2}));
  // Without --trace, the same options are the built-in LLaMA-MoE trace.
  RunOptions builtin = o;
  builtin.workload.trace.clear();
  builtin.layer = "all";
  EXPECT_EQ(resolve_run_config(builtin, 2).layers.size(), 32u);
}

TEST(UserTrace, RefusesOptionsThatContradictTheTrace) {
  const Communicator comm(MPI_COMM_WORLD);
  const TraceDirectory dir;
  DataStore data(comm, C2R_TEST_DATA_DIR);
  const RunOptions base = trace_options(dir.trace());
  const RoutingTrace& trace = *read_user_trace(base.workload, data);
  const std::string flag = "--trace " + dir.trace();

  RunOptions o = base;
  o.layer = "1";
  expect_refused(o, 2, trace, "--layer 1 is not in " + flag + " (its layers: 0, 2, 5)");
  o.layer = "0,9";
  expect_refused(o, 2, trace, "--layer 9 is not in " + flag);
  o = base;
  o.workload.overrides.hidden.reset();
  expect_refused(o, 2, trace,
                 flag +
                     " gives the routing, not the model's sizes: give its "
                     "--hidden and --ffn, or a --preset with 16 experts and top-4");
  o = base;
  o.workload.preset = "qwen1.5-moe-a2.7b";
  o.workload.preset_given = true;
  expect_refused(o, 2, trace,
                 flag +
                     " has 16 experts and top-4; --preset qwen1.5-moe-a2.7b has "
                     "60 experts and top-4");
  o = base;
  o.workload.overrides.experts = 8;
  expect_refused(o, 2, trace, "--experts 8 differs from " + flag + ", which has 16 experts");
  o = base;
  o.workload.overrides.top_k = 2;
  expect_refused(o, 2, trace, "--top-k 2 differs from " + flag + ", which has top-4");
  o = base;
  o.workload.kind = "random";
  expect_refused(o, 2, trace, "--trace gives the routing of --workload trace");
  o = base;
  o.workload.overrides.hidden = 8;
  expect_refused(o, 2, trace, "it needs --hidden of at least the 16 experts (got 8)");
  o = base;
  expect_refused(o, 3, trace, "16 experts do not divide over 3 ranks");
  o.routing = {"c2r"};
  o.top_t = {16};
  expect_refused(o, 2, trace, "--top-t 16 is out of range");

  // A missing or malformed trace is refused naming the flag and the file.
  RunOptions missing = base;
  missing.workload.trace = dir.path() + "/nope.json";
  try {
    read_user_trace(missing.workload, data);
    ADD_FAILURE() << "read a missing trace";
  } catch (const Error& e) {
    EXPECT_TRUE(e.raised_on_all_ranks());
    EXPECT_EQ(std::string(e.what()), "--trace: file not found: " + dir.path() + "/nope.json");
  }
}

TEST(UserTrace, PresetOfTheSameShapeGivesTheWidths) {
  const Communicator comm(MPI_COMM_WORLD);
  const TraceDirectory dir;
  // A Qwen-shaped trace: 60 experts, top-4.
  const std::string file = dir.path() + "/qwen.json";
  json ids = json::array();
  for (int t = 0; t < 5; ++t) ids.push_back({t, t + 10, t + 20, t + 30});
  std::ofstream(file) << json{{"schema", "c2rbench.trace"},
                              {"schema_version", 1},
                              {"experts", 60},
                              {"top_k", 4},
                              {"layers", {{{"layer", 3}, {"expert_ids", ids}}}}}
                             .dump();
  DataStore data(comm, C2R_TEST_DATA_DIR);
  RunOptions o;
  o.workload.trace = file;
  o.workload.preset = "qwen1.5-moe-a2.7b";
  o.workload.preset_given = true;
  o.layer = "3";
  const RunConfig c = resolve_run_config(o, 4, read_user_trace(o.workload, data));
  EXPECT_EQ(c.model.preset, "qwen1.5-moe-a2.7b");
  EXPECT_EQ(c.model.hidden, 2048);
  EXPECT_EQ(c.model.shared_ffn, 5632);
  EXPECT_EQ(c.model.gate_weights, GateWeights::kFullSoftmax);
  EXPECT_EQ(c.model.layers, 4);
  EXPECT_TRUE(c.model.trace_family.empty());  // routing from the user's trace, not Qwen's lists
}

TEST(UserTrace, GateChoosesTheTracesExpertsInOrder) {
  const Communicator comm(MPI_COMM_WORLD);
  const TraceDirectory dir;
  DataStore data(comm, C2R_TEST_DATA_DIR);
  const RunOptions o = trace_options(dir.trace());
  const RoutingTrace& trace = *read_user_trace(o.workload, data);
  const WorkloadSetup setup = resolve_workload(o.workload, &trace);
  // Tokens 45..104 of layer 2 (50 rows): rows 45..49, then 0..49, then 0..4.
  RoutingSource source(setup.model, setup.workload, 45, 60, comm, data);
  EXPECT_TRUE(source.user_trace());
  EXPECT_FALSE(source.pair_trace());
  EXPECT_TRUE(source.designed_routing());
  const std::vector<int32_t> rows = trace.find(2)->rows_for(45, 60, kTopK);
  EXPECT_EQ(
      std::vector<int32_t>(rows.begin(), rows.begin() + kTopK),
      std::vector<int32_t>(dir.rows(2).begin() + 45 * kTopK, dir.rows(2).begin() + 46 * kTopK));
  std::string list_source;
  const GateSpec vanilla = source.gate(2, RoutingMode::kVanilla, 0, &list_source);
  const TokenBatch batch = source.batch(2, RoutingMode::kVanilla, 0);
  EXPECT_EQ(batch.trace_experts, rows);
  const std::vector<int32_t> chosen = route(batch, setup.model, vanilla);
  EXPECT_EQ(chosen, rows);
  EXPECT_EQ(count_trace_matches(batch, chosen, kTopK), 60);
  EXPECT_EQ(source.expert_ids(2, RoutingMode::kVanilla, 0), rows);

  // C2R: Top-T profiled from the trace's own routing; T = k - 1 must change some tokens' experts
  // (the trace is not that constrained), and keeps each token's first expert.
  const GateSpec c2r = source.gate(2, RoutingMode::kC2R, kTopK - 1, &list_source);
  EXPECT_EQ(list_source, "profiled from vanilla routing of this workload");
  const std::vector<int32_t> constrained = route(batch, setup.model, c2r);
  EXPECT_EQ(source.expert_ids(2, RoutingMode::kC2R, kTopK - 1), constrained);
  const int64_t kept = count_trace_matches(batch, constrained, kTopK);
  EXPECT_LT(kept, 60);
  for (int t = 0; t < 60; ++t) EXPECT_EQ(constrained[t * kTopK], rows[t * kTopK]) << t;

  // A layer the trace lacks is refused by name.
  try {
    source.check_data(1, RoutingMode::kVanilla, 0);
    ADD_FAILURE() << "layer 1 accepted";
  } catch (const Error& e) {
    EXPECT_TRUE(e.raised_on_all_ranks());
    EXPECT_EQ(std::string(e.what()), "layer 1 is not in " + dir.trace() + " (its layers: 0, 2, 5)");
  }
  EXPECT_NO_THROW(source.check_data(5, RoutingMode::kC2R, 3));
}

TEST(UserTrace, PairTraceIsTheDesignedRoutingOfItsPairs) {
  // The built-in pair trace is the k = 2 case of the designed routing, with the same numbers.
  ModelOverrides small;
  small.hidden = 64;
  small.ffn = 32;
  const ModelConfig model = make_model("llama-moe-3.5b", small);
  WorkloadSpec spec;
  spec.kind = WorkloadKind::kTrace;
  spec.seed = 5;
  const CollaborationMatrix pairs =
      parse_collaboration_matrix(
          read_text_file(std::string(C2R_TEST_DATA_DIR) + "/reference/llama-moe-3.5b-vanilla.json"),
          "v")
          .layers[4];
  const TokenBatch batch = make_trace_batch(model, spec, 4, pairs, nullptr, 0, 10, 40);
  EXPECT_EQ(batch.trace_experts, batch.trace_pair);
  const TokenBatch designed = make_designed_batch(model, spec, 4, batch.trace_pair, 10, 40);
  EXPECT_EQ(designed.x, batch.x);
  EXPECT_EQ(designed.w_router, batch.w_router);
  EXPECT_FALSE(uses_pair_trace(model, [&] {
    WorkloadSpec with_file = spec;
    with_file.trace_file = "t.json";
    return with_file;
  }()));
}

}  // namespace
}  // namespace c2r
