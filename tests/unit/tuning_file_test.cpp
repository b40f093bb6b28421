// The tuning file as a value: to_json and tuning_from_json are inverse on a seeded Tuning, and
// refuse a field of the wrong type by name. (A Tuning the tuner builds: tests/unit/tuner_test.cpp.)

#include <gtest/gtest.h>

#include <functional>
#include <sstream>

#include "common/error.hpp"
#include "common/rng.hpp"
#include "results/tuning_file.hpp"
#include "results/tuning_tables.hpp"

namespace c2r {
namespace {

// Every reported phase, the traffic and the load non-zero and distinct.
PhaseTimes seeded_times(Rng& rng, bool predicted) {
  PhaseTimes t;
  for (Phase phase : kReportedPhases) t.at(phase) = 1.0 + rng.uniform() * 100.0;
  t.remote_bytes = 1.0 + rng.uniform() * 1e6;
  t.rank_imbalance = 1.0 + rng.uniform();
  if (predicted) t.dropped_fraction = rng.uniform();
  return t;
}

Tuning seeded_tuning(uint64_t seed) {
  Rng rng(seed, Stream::kPlacement, 0);
  Tuning t;
  t.model = {{"preset", "llama-moe-3.5b"}, {"top_k", 2}, {"experts", 8}};
  t.model_preset = "llama-moe-3.5b";
  t.top_k = 2;
  t.experts = 8;
  t.ranks = 2;
  t.tokens_per_rank = 4096;
  t.workload = {{"seed", 7}};
  t.strategy = "dedup";
  t.routing = "c2r";
  t.top_t = 2;
  t.top_t_within_limit = false;
  t.capacity_factor = 1.25;
  t.capacity_within_limit = false;
  t.max_imbalance = 1.3;
  t.max_drop = 0.01;
  t.cluster = {
      "test",       "described", 2,    1,     {0, 0},      {5.5, 100.5},
      {20.5, 10.5}, 50.5,        40.5, 900.5, "described", nlohmann::json::array({"a figure"})};
  t.cluster.expert_call_us = 812.5;
  t.cluster.expert_alone_gflops = 60.5;
  t.profile = {{"ranks", 2}};
  for (int layer : {0, 5}) {
    TuningLayer l;
    l.layer = layer;
    l.expert_rank = {0, 1, 0, 1, 1, 0, 1, 0};
    l.method = layer == 0 ? "exhaustive" : "metis+swap";
    l.candidates = 35;
    l.search_ms = rng.uniform() * 10;
    if (layer != 0) l.seed_objective_us = rng.uniform() * 100;
    l.baseline = seeded_times(rng, true);
    l.contiguous = seeded_times(rng, true);
    l.tuned = seeded_times(rng, true);
    l.routings = {{"vanilla",
                   std::nullopt,
                   {0, 0, 0, 0, 1, 1, 1, 1},
                   "exhaustive",
                   seeded_times(rng, true),
                   seeded_times(rng, true)},
                  {"c2r", 2, l.expert_rank, l.method, l.tuned, l.contiguous}};
    t.layers.push_back(l);
  }
  t.top_t_table = {{"vanilla", std::nullopt, 10.5, 4.5, 1e5, 1.1, true, false},
                   {"c2r", 2, 8.5, 3.5, 5e4, 1.4, false, true}};
  t.capacity_table = {{1.0, 0.2, 0.1, 9.5, 4.5, false, false},
                      {1.25, 0.05, 0.02, 10.5, 5.5, false, true}};
  t.summary = {2, 20.5, 18.5, 16.5, 9.5, 8.5, 7.5, 1.25, 1.125};
  t.created = TuningCreated{{"c2rbench", "tune", "--validate"},
                            "1.0",
                            "abc123",
                            {{"max-drop", "0.2"}, {"validate", true}}};
  t.search_seconds = 0.125;
  t.total_seconds = 3.5;
  Validation v;
  v.iterations = 2;
  v.warmup = 1;
  for (const char* placement : {"contiguous", "tuned"}) {
    ValidationPoint p;
    p.layer = 5;
    p.routing = "c2r";
    p.top_t = 2;
    p.strategy = "dedup";
    p.placement = placement;
    p.expert_rank = {1, 0, 1, 0, 0, 1, 0, 1};
    p.predicted = seeded_times(rng, true);
    p.measured = seeded_times(rng, false);
    v.points.push_back(p);
  }
  v.spearman_layer = 0.5;
  for (Phase phase : kReportedPhases) {
    v.mean_abs_error[phase_name(phase)] = rng.uniform();
    v.error_points[phase_name(phase)] = 2;
  }
  MeasuredGain gain;
  gain.layer = 5;
  gain.tuned_dispatch_combine_us = 3.5;
  gain.tuned_layer_us = 9.5;
  gain.contiguous_dispatch_combine_us = 4.5;  // no baseline cell: absent, printed "-"
  v.measured_gain = {gain};
  v.met = false;
  t.validation = v;
  return t;
}

TEST(TuningFile, RoundTripsThroughJson) {
  const nlohmann::json written = to_json(seeded_tuning(42));
  EXPECT_EQ(written["schema"], "c2rbench.tuning");
  EXPECT_EQ(written["schema_version"], 1);
  const Tuning read = tuning_from_json(nlohmann::json::parse(written.dump(1)), "t.json");
  EXPECT_EQ(to_json(read), written);
  ASSERT_TRUE(read.validation);
  EXPECT_EQ(read.validation->points.size(), 2u);
  EXPECT_FALSE(read.validation->measured_gain[0].baseline_layer_us);
  EXPECT_EQ(read.validation->error_points.at("layer"), 2);
  EXPECT_EQ(read.cluster.expert_call_us, 812.5);
  EXPECT_EQ(read.cluster.expert_alone_gflops, 60.5);
  EXPECT_EQ(read.layers[1].routings[1].top_t, 2);
  std::ostringstream a, b;
  print_tuning(a, seeded_tuning(42));
  print_tuning(b, read);
  EXPECT_EQ(a.str(), b.str());
  EXPECT_NE(a.str().find("layer 5: dispatch+combine tuned 3.5 us vs contiguous 4.5 us vs "
                         "baseline - us"),
            std::string::npos)
      << a.str();
}

// A newer (or missing) schema_version is refused by name: a later format may mean what this
// reader cannot tell.
TEST(TuningFile, RefusesASchemaVersionItDoesNotRead) {
  nlohmann::json file = to_json(seeded_tuning(7));
  file["schema_version"] = 2;
  try {
    tuning_from_json(file, "t.json");
    ADD_FAILURE() << "schema_version 2 was read";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("t.json: tuning schema_version 2"), std::string::npos)
        << e.what();
  }
  file.erase("schema_version");
  EXPECT_THROW(tuning_from_json(file, "t.json"), Error);
}

// Files written before the validation counted its points, ran rounds or split the expert time still
// read, and print without them.
TEST(TuningFile, ReadsValidationWithoutErrorPoints) {
  nlohmann::json written = to_json(seeded_tuning(3));
  written["validation"].erase("error_points");
  written["validation"].erase("rounds");
  written["cluster"]["rates"].erase("expert_call_us");
  const Tuning read = tuning_from_json(written, "t.json");
  ASSERT_TRUE(read.validation);
  EXPECT_TRUE(read.validation->error_points.empty());
  EXPECT_EQ(read.validation->rounds, 0);  // not interleaved
  EXPECT_FALSE(read.cluster.expert_call_us);
  std::ostringstream out;
  print_tuning(out, read);
  EXPECT_NE(out.str().find("# Spearman (layer time, 2 points)"), std::string::npos) << out.str();
}

TEST(TuningFile, RefusesWrongTypesByName) {
  nlohmann::json written = to_json(seeded_tuning(7));
  written["layers"][1]["search_ms"] = "fast";
  try {
    tuning_from_json(written, "t.json");
    FAIL() << "accepted a string search_ms";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("t.json.layers[1]: \"search_ms\" must be a number"),
              std::string::npos)
        << e.what();
  }
}

// What no tuning could hold is refused, naming the file and the field: negative times and counts,
// ranks past the file's ranks, a layer listed twice (the second used to replace the first for
// whoever reads it by layer), a summary over another number of layers.
TEST(TuningFile, RefusesImpossibleValuesByName) {
  using Edit = std::function<void(nlohmann::json&)>;
  const std::vector<std::pair<Edit, std::string>> cases = {
      {[](auto& t) { t["layers"][1]["layer"] = 0; },
       "t.json.layers[1].layer: layer 0 is already layers[0]; a file holds each layer once"},
      {[](auto& t) { t["layers"][0]["predicted"]["tuned"]["dispatch_us"] = -3.5; },
       "t.json.layers[0].predicted.tuned: \"dispatch_us\" must be a non-negative number"},
      {[](auto& t) { t["layers"][1]["search_ms"] = -1; },
       "t.json.layers[1]: \"search_ms\" must be a non-negative number"},
      {[](auto& t) { t["layers"][0]["layer"] = -2; },
       "t.json.layers[0]: \"layer\" must be a non-negative integer"},
      {[](auto& t) { t["layers"][0]["expert_rank"][3] = 2; },
       "t.json.layers[0]: \"expert_rank\" holds 2, not an index below 2"},
      {[](auto& t) { t["layers"][0]["routings"][0]["expert_rank"][0] = -1; },
       "t.json.layers[0].routings[0]: \"expert_rank\" holds -1"},
      {[](auto& t) { t["layers"][0]["expert_rank"].erase(0); },
       "t.json.layers[0].expert_rank has 7 entries for 8 experts"},
      {[](auto& t) { t["ranks"] = -2; }, "t.json: \"ranks\" must be a positive integer"},
      {[](auto& t) { t["tokens_per_rank"] = -4096; },
       "t.json: \"tokens_per_rank\" must be a non-negative integer"},
      {[](auto& t) { t["cluster"]["node_of_rank"][1] = 1; },
       "t.json.cluster: \"node_of_rank\" holds 1, not an index below 1"},
      {[](auto& t) { t["cluster"]["intra_node"]["bandwidth_GBps"] = -100.5; },
       "t.json.cluster.intra_node: \"bandwidth_GBps\" must be a non-negative number"},
      {[](auto& t) { t["capacity_table"][0]["max_dropped_fraction"] = 1.2; },
       "t.json.capacity_table[0]: \"max_dropped_fraction\" must be a number from 0 to 1"},
      {[](auto& t) { t["summary"]["layers"] = 3; },
       "t.json.summary.layers is 3 but the file lists 2 layers"},
      {[](auto& t) { t["validation"]["points"][0]["measured"]["layer_us"] = -9.5; },
       "validation.points[0].measured: \"layer_us\" must be a non-negative number"},
      {[](auto& t) { t["validation"]["spearman_layer"] = 1.5; },
       "validation: \"spearman_layer\" must be a number from -1 to 1"},
      {[](auto& t) {
         t["validation"]["measured_gain"].push_back({{"layer", 5}});
       },
       "measured_gain[1].layer: layer 5 is already measured_gain[0]"},
  };
  const nlohmann::json written = to_json(seeded_tuning(9));
  for (const auto& [edit, needle] : cases) {
    nlohmann::json file = written;
    edit(file);
    try {
      tuning_from_json(file, "t.json");
      ADD_FAILURE() << "accepted; expected " << needle;
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
    }
  }
  // A correlation may be negative: a poor prediction is a value, not an impossible one.
  nlohmann::json negative = written;
  negative["validation"]["spearman_layer"] = -0.25;
  EXPECT_EQ(tuning_from_json(negative, "t.json").validation->spearman_layer, -0.25);
}

}  // namespace
}  // namespace c2r
