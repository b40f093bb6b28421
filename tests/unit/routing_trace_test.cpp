// Routing traces users bring (model/routing_trace.hpp): both layouts read back exactly, and every
// trace that cannot be a model's routing is refused with one message naming the file (and the .npy
// file, for a problem in one).
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/error.hpp"
#include "common/file_io.hpp"
#include "model/npy.hpp"
#include "model/routing_trace.hpp"

namespace c2r {
namespace {

using nlohmann::json;

// Files a trace may name, in memory: path -> bytes.
class Files {
 public:
  void add(const std::string& path, const std::string& bytes) { files_[path] = bytes; }
  TraceFileReader reader() const {
    return [this](const std::string& path) {
      auto it = files_.find(path);
      C2R_CHECK(it != files_.end(), "file not found: " << path);
      return it->second;
    };
  }

 private:
  std::map<std::string, std::string> files_;
};

json trace_doc(int experts, int top_k, json layers) {
  return {{"schema", "c2rbench.trace"},
          {"schema_version", 1},
          {"experts", experts},
          {"top_k", top_k},
          {"layers", std::move(layers)}};
}

RoutingTrace parse(const json& doc, const Files& files = Files()) {
  return parse_routing_trace(doc.dump(), "dir/t.json", files.reader());
}

std::string refusal(const std::string& text, const Files& files = Files()) {
  try {
    parse_routing_trace(text, "dir/t.json", files.reader());
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

void expect_refused(const json& doc, const std::string& needle, const Files& files = Files()) {
  const std::string message = refusal(doc.dump(), files);
  EXPECT_NE(message.find(needle), std::string::npos) << "message: '" << message << "'";
  EXPECT_NE(message.find("dir/t.json"), std::string::npos) << message;  // names the trace
}

std::string ids_npy(const std::vector<int32_t>& ids, int64_t tokens, int64_t k) {
  return npy_file_bytes(NpyType::kInt32, {tokens, k}, ids.data());
}

TEST(RoutingTrace, ReadsInlineRowsAndWeights) {
  const json doc =
      trace_doc(4, 2,
                {{{"layer", 3}, {"expert_ids", {{1, 0}, {3, 2}, {0, 3}}}},
                 {{"layer", 1}, {"expert_ids", {{2, 1}}}, {"weights", {{0.75, 0.25}}}}});
  json with_names = doc;
  with_names["model"] = "OLMoE-1B-7B";
  with_names["source"] = "forward hooks on 64 tokens";
  const RoutingTrace trace = parse(with_names);
  EXPECT_EQ(trace.experts, 4);
  EXPECT_EQ(trace.top_k, 2);
  EXPECT_EQ(trace.model, "OLMoE-1B-7B");
  EXPECT_EQ(trace.source, "forward hooks on 64 tokens");
  // Layers by number, whatever the order in the file; gaps allowed.
  EXPECT_EQ(trace.layer_numbers(), (std::vector<int>{1, 3}));
  const TraceLayer* three = trace.find(3);
  ASSERT_NE(three, nullptr);
  EXPECT_EQ(three->tokens, 3);
  EXPECT_EQ(three->expert_ids, (std::vector<int32_t>{1, 0, 3, 2, 0, 3}));
  EXPECT_TRUE(three->weights.empty());
  EXPECT_EQ(trace.find(1)->weights, (std::vector<float>{0.75f, 0.25f}));
  EXPECT_EQ(trace.find(2), nullptr);
  // Token g takes row g mod tokens, whichever rank owns it.
  EXPECT_EQ(three->rows_for(2, 3, 2), (std::vector<int32_t>{0, 3, 1, 0, 3, 2}));
  EXPECT_EQ(three->rows_for(7, 1, 2), (std::vector<int32_t>{3, 2}));
  EXPECT_TRUE(three->rows_for(5, 0, 2).empty());
}

TEST(RoutingTrace, ReadsNpyArraysRelativeToTheTrace) {
  Files files;
  const std::vector<int32_t> ids = {0, 1, 2, 3, 1, 0, 3, 2};
  const std::vector<int64_t> ids64 = {7, 6, 5, 4};
  const std::vector<float> weights = {0.5f, 0.25f, 0.125f, 0.125f, 0.6f, 0.4f, 1.0f, 0.0f};
  files.add("dir/l0.npy", ids_npy(ids, 4, 2));
  files.add("dir/l0w.npy", npy_file_bytes(NpyType::kFloat32, {4, 2}, weights.data()));
  files.add("/abs/l5.npy", npy_file_bytes(NpyType::kInt64, {2, 2}, ids64.data()));
  const json doc =
      trace_doc(8, 2,
                {{{"layer", 0}, {"expert_ids_npy", "l0.npy"}, {"weights_npy", "l0w.npy"}},
                 {{"layer", 5}, {"expert_ids_npy", "/abs/l5.npy"}}});
  const RoutingTrace trace = parse(doc, files);
  EXPECT_EQ(trace.find(0)->expert_ids, ids);
  EXPECT_EQ(trace.find(0)->weights, weights);
  EXPECT_EQ(trace.find(5)->tokens, 2);
  EXPECT_EQ(trace.find(5)->expert_ids, (std::vector<int32_t>{7, 6, 5, 4}));
  EXPECT_EQ(trace_relative_path("t.json", "a.npy"), "a.npy");
  EXPECT_EQ(trace_relative_path("/x/y/t.json", "sub/a.npy"), "/x/y/sub/a.npy");
  EXPECT_EQ(describe_layers({0, 1, 2, 3}), "0..3");
  EXPECT_EQ(describe_layers({1, 5}), "1, 5");
}

TEST(RoutingTrace, RefusesDocumentsThatAreNotTraces) {
  EXPECT_NE(refusal("{\"schema\": \"c2rbench.trace\", ").find("dir/t.json: malformed JSON"),
            std::string::npos);
  EXPECT_NE(refusal("[1, 2]").find("expected a JSON object"), std::string::npos);
  json doc = trace_doc(4, 2, {{{"layer", 0}, {"expert_ids", {{0, 1}}}}});
  EXPECT_NO_THROW(parse(doc));
  json other = doc;
  other["schema"] = "c2rbench.placement";
  expect_refused(other, "schema is \"c2rbench.placement\", expected \"c2rbench.trace\"");
  other.erase("schema");
  expect_refused(other, "missing \"schema\"");
  other = doc;
  other["schema_version"] = 2;
  expect_refused(other, "schema_version 2 is newer than this c2rbench reads (1)");
  other["schema_version"] = "1";
  expect_refused(other, "\"schema_version\" must be");
  for (const json& experts : {json(0), json(-3), json(65537), json(2.5), json("4")}) {
    other = doc;
    other["experts"] = experts;
    expect_refused(other, "\"experts\" must be");
  }
  for (const json& top_k : {json(0), json(5), json(nullptr)}) {
    other = doc;
    other["top_k"] = top_k;
    expect_refused(other, "\"top_k\" must be a whole number from 1 to the number of experts");
  }
  other = doc;
  other["model"] = 3;
  expect_refused(other, "\"model\" must be a string");
  other = doc;
  other["layers"] = json::array();
  expect_refused(other, "\"layers\" must be a non-empty array");
  other.erase("layers");
  expect_refused(other, "\"layers\" must be a non-empty array");
}

TEST(RoutingTrace, RefusesLayersThatAreNotRouting) {
  const auto one_layer = [](json layer) { return trace_doc(4, 2, json::array({layer})); };
  expect_refused(one_layer(json::array({0})), "layers[0] must be an object");
  expect_refused(one_layer({{"expert_ids", {{0, 1}}}}), "layers[0]: \"layer\" must be");
  expect_refused(one_layer({{"layer", -1}, {"expert_ids", {{0, 1}}}}), "\"layer\" must be");
  expect_refused(one_layer({{"layer", 0}}), "exactly one of \"expert_ids\"");
  expect_refused(one_layer({{"layer", 0}, {"expert_ids", {{0, 1}}}, {"expert_ids_npy", "a.npy"}}),
                 "exactly one of \"expert_ids\"");
  expect_refused(one_layer({{"layer", 0}, {"expert_ids", json::array()}}),
                 "layers[0].expert_ids must be a non-empty array");
  // Rows of another length than top_k: one short, one long, a number instead of a row.
  expect_refused(one_layer({{"layer", 0}, {"expert_ids", {{0, 1}, {2}}}}),
                 "layers[0].expert_ids[1] must be a row of 2 expert ids");
  expect_refused(one_layer({{"layer", 0}, {"expert_ids", {{0, 1, 2}}}}), "must be a row of 2");
  expect_refused(one_layer({{"layer", 0}, {"expert_ids", {3, 1}}}), "must be a row of 2");
  // Ids outside [0, E), not whole numbers, or twice in one token.
  expect_refused(one_layer({{"layer", 0}, {"expert_ids", {{0, 4}}}}),
                 "layers[0].expert_ids[0] holds 4, not an expert id in 0..3");
  expect_refused(one_layer({{"layer", 0}, {"expert_ids", {{-1, 0}}}}), "holds -1");
  expect_refused(one_layer({{"layer", 0}, {"expert_ids", {{1.5, 0}}}}), "holds 1.5");
  expect_refused(one_layer({{"layer", 0}, {"expert_ids", json::array({json::array({"1", 0})})}}),
                 "holds a JSON string");
  expect_refused(one_layer({{"layer", 0}, {"expert_ids", {{0, 1}, {2, 2}}}}),
                 "layers[0].expert_ids[1] repeats expert 2 (a token's 2 experts must differ)");
  // Weights of another shape, or not finite as float32.
  const json ids = {{0, 1}, {2, 3}};
  expect_refused(one_layer({{"layer", 0}, {"expert_ids", ids}, {"weights", {{0.5, 0.5}}}}),
                 "layers[0].weights must be an array of 2 rows");
  expect_refused(one_layer({{"layer", 0}, {"expert_ids", ids}, {"weights", {{0.5, 0.5}, {1.0}}}}),
                 "layers[0].weights[1] must be a row of 2 numbers");
  expect_refused(
      one_layer({{"layer", 0}, {"expert_ids", ids}, {"weights", {{0.5, 0.5}, {1e300, 0}}}}),
      "layers[0].weights[1] holds 1e+300, not a finite float32");
  expect_refused(
      one_layer({{"layer", 0}, {"expert_ids", ids}, {"weights", {{0.5, 0.5}, {nullptr, 0}}}}),
      "holds a JSON null");
  expect_refused(one_layer({{"layer", 0},
                            {"expert_ids", ids},
                            {"weights", {{0.5, 0.5}, {1, 0}}},
                            {"weights_npy", "w.npy"}}),
                 "holds both \"weights\" and \"weights_npy\"");
  // A layer twice.
  expect_refused(trace_doc(4, 2,
                           {{{"layer", 2}, {"expert_ids", {{0, 1}}}},
                            {{"layer", 2}, {"expert_ids", {{2, 3}}}}}),
                 "layers[1]: layer 2 is listed twice");
}

TEST(RoutingTrace, RefusesNpyArraysThatAreNotTheLayersRouting) {
  const auto with = [](const std::string& ids_bytes, const std::string& weight_bytes = "") {
    Files files;
    files.add("dir/ids.npy", ids_bytes);
    json layer = {{"layer", 4}, {"expert_ids_npy", "ids.npy"}};
    if (!weight_bytes.empty()) {
      files.add("dir/w.npy", weight_bytes);
      layer["weights_npy"] = "w.npy";
    }
    return std::make_pair(trace_doc(8, 2, json::array({layer})), files);
  };
  const auto expect_npy_refused = [](const std::pair<json, Files>& input,
                                     const std::string& needle) {
    const std::string message = refusal(input.first.dump(), input.second);
    EXPECT_NE(message.find(needle), std::string::npos) << "message: '" << message << "'";
    // Names the .npy file and where the trace names it.
    EXPECT_NE(message.find("(layers[0]."), std::string::npos) << message;
    EXPECT_NE(message.find(" of dir/t.json)"), std::string::npos) << message;
  };
  const std::vector<int32_t> good = {0, 1, 2, 3, 4, 5};
  const std::vector<float> weights(6, 0.5f);
  const auto accepted =
      with(ids_npy(good, 3, 2), npy_file_bytes(NpyType::kFloat32, {3, 2}, weights.data()));
  EXPECT_NO_THROW(parse(accepted.first, accepted.second));

  Files none;
  json missing = trace_doc(8, 2, {{{"layer", 0}, {"expert_ids_npy", "gone.npy"}}});
  EXPECT_NE(refusal(missing.dump(), none).find("file not found: dir/gone.npy"), std::string::npos);
  missing["layers"][0]["expert_ids_npy"] = "";
  expect_refused(missing, "layers[0].expert_ids_npy must be the name of an .npy file");

  std::string truncated = ids_npy(good, 3, 2);
  truncated.resize(truncated.size() - 3);
  expect_npy_refused(with(truncated), "dir/ids.npy: .npy data is 21 bytes");
  std::string bad_magic = ids_npy(good, 3, 2);
  bad_magic[1] = 'X';
  expect_npy_refused(with(bad_magic), "dir/ids.npy: not a .npy file");
  std::string fortran = ids_npy(good, 3, 2);
  fortran.replace(fortran.find("False"), 5, "True ");
  expect_npy_refused(with(fortran), "Fortran (column-major) order");
  std::string big_endian = ids_npy(good, 3, 2);
  big_endian[big_endian.find("<i4")] = '>';
  expect_npy_refused(with(big_endian), "descr '>i4' is not supported");
  expect_npy_refused(with(npy_file_bytes(NpyType::kFloat32, {3, 2}, weights.data())),
                     "dir/ids.npy: expert ids are <f4; expected integers");
  // Shapes: k columns (mismatched k), two dimensions, at least one token.
  expect_npy_refused(with(npy_file_bytes(NpyType::kInt32, {2, 3}, good.data())),
                     "dir/ids.npy: shape (2, 3); expected (tokens, 2)");
  expect_npy_refused(with(npy_file_bytes(NpyType::kInt32, {6}, good.data())), "shape (6,)");
  expect_npy_refused(with(npy_file_bytes(NpyType::kInt32, {1, 3, 2}, good.data())),
                     "shape (1, 3, 2)");
  expect_npy_refused(with(npy_file_bytes(NpyType::kInt32, {0, 2}, nullptr)), "no tokens");
  // Ids outside [0, E) or twice in a row, int32 and int64 alike.
  expect_npy_refused(with(ids_npy({0, 1, 8, 2}, 2, 2)),
                     "dir/ids.npy: row 1 holds expert 8, outside 0..7");
  const std::vector<int64_t> huge = {0, 1, int64_t{1} << 33, 2};
  expect_npy_refused(with(npy_file_bytes(NpyType::kInt64, {2, 2}, huge.data())),
                     "row 1 holds expert 8589934592");
  expect_npy_refused(with(ids_npy({0, 1, -1, 2}, 2, 2)), "row 1 holds expert -1");
  expect_npy_refused(with(ids_npy({0, 1, 5, 5}, 2, 2)),
                     "dir/ids.npy: row 1 repeats expert 5 (a token's 2 experts must differ)");
  // Weights: float32 of the ids' shape, finite.
  expect_npy_refused(with(ids_npy(good, 3, 2), ids_npy(good, 3, 2)),
                     "dir/w.npy: weights are <i4; expected float32");
  expect_npy_refused(
      with(ids_npy(good, 3, 2), npy_file_bytes(NpyType::kFloat32, {2, 2}, weights.data())),
      "dir/w.npy: 2 rows of weights for 3 rows of expert ids");
  std::vector<float> nan_weights = weights;
  nan_weights[5] = std::nanf("");
  expect_npy_refused(
      with(ids_npy(good, 3, 2), npy_file_bytes(NpyType::kFloat32, {3, 2}, nan_weights.data())),
      "dir/w.npy: row 2 holds a weight that is not finite");
}

// The fuzz target's seeds (fuzz/corpus/routing_trace) are traces it accepts, in its layout: the
// trace's text, then from the first "\x93NUMPY" on, the bytes of every .npy file it names (an
// input starting with them is the .npy file of a fixed trace of 8 experts, top-2).
TEST(RoutingTrace, EverySeedOfTheFuzzCorpusIsRead) {
  const std::filesystem::path corpus =
      std::filesystem::path(C2R_TEST_DATA_DIR) / ".." / "fuzz" / "corpus" / "routing_trace";
  int seeds = 0;
  for (const auto& entry : std::filesystem::directory_iterator(corpus)) {
    const std::string input = read_text_file(entry.path().string());
    const size_t split = input.find(std::string("\x93NUMPY", 6));
    std::string text = input.substr(0, split);
    if (split == 0) {
      text = trace_doc(8, 2, {{{"layer", 0}, {"expert_ids_npy", "a.npy"}}}).dump();
    }
    const std::string npy = split == std::string::npos ? "" : input.substr(split);
    const RoutingTrace trace =
        parse_routing_trace(text, entry.path().string(), [&](const std::string&) { return npy; });
    EXPECT_FALSE(trace.layers.empty()) << entry.path();
    ++seeds;
  }
  EXPECT_GE(seeds, 4);
}

}  // namespace
}  // namespace c2r
