// The typed cell result: its report JSON and back (every section, and a peer's sparse cell), the
// report around it, the one cell key, and the one list of reported phases.
#include <gtest/gtest.h>

#include <random>

#include "bench/cell_result_builder.hpp"
#include "common/error.hpp"
#include "results/cell_result.hpp"
#include "results/phase.hpp"
#include "results/report.hpp"

namespace c2r {
namespace {

using nlohmann::json;

// Seeded values that are neither zero nor round, so that a field read back from the wrong key or
// with the wrong type shows.
class Values {
 public:
  explicit Values(unsigned seed) : rng_(seed) {}
  double number() { return std::uniform_real_distribution<double>(0.1, 1000.0)(rng_); }
  int64_t count() { return std::uniform_int_distribution<int64_t>(1, int64_t{1} << 40)(rng_); }
  std::vector<double> numbers(int n) {
    std::vector<double> v(n);
    for (auto& x : v) x = number();
    return v;
  }
  std::vector<int64_t> counts(int n) {
    std::vector<int64_t> v(n);
    for (auto& x : v) x = count();
    return v;
  }

 private:
  std::mt19937_64 rng_;
};

// A cell's identity, nothing measured.
CellResult cell_named(const char* routing, std::optional<int> top_t, const char* strategy,
                      const char* placement, std::optional<int> layer) {
  CellResult c;
  c.routing = routing;
  c.top_t = top_t;
  c.strategy = strategy;
  c.placement = placement;
  c.layer = layer;
  return c;
}

// A cell with every section, as `run --check` with ceilings writes it (4 ranks, 6 experts).
CellResult full_cell(unsigned seed) {
  Values v(seed);
  const int ranks = 4, experts = 6;
  CellResult c = cell_named("c2r", 3, "dedup", "collab", 17);
  c.tokens_per_rank = 96;
  c.baseline = false;
  c.in_grid = true;
  c.expert_rank = {2, 0, 3, 1, 0, 2};
  c.placement_search = PlacementSearch{"exhaustive", v.number()};
  c.top_t_source = "data/llama/c2r_top3.json";
  c.trace_match = v.number() / 1000;
  for (int p = 0; p < kNumResultPhases; ++p) c.phases[p] = phase_stats(v.numbers(5));
  c.ceilings =
      Ceilings{phase_stats(v.numbers(5)), phase_stats(v.numbers(5)), phase_stats(v.numbers(5))};
  c.efficiency = Efficiency{v.number(), v.number(), v.number()};
  // Negative: a layer may expose more than the plain exchange takes.
  c.overlap_metrics =
      OverlapMetrics{phase_stats(v.numbers(5)), phase_stats(v.numbers(5)), -v.number() / 1000};
  c.expert_gflops = v.number();
  Traffic t;
  t.dispatch_row_bytes = v.count();
  t.combine_row_bytes = v.count();
  for (int r = 0; r < ranks; ++r) {
    t.dispatch_bytes.push_back(v.counts(ranks));
    t.combine_bytes.push_back(v.counts(ranks));
  }
  t.remote_bytes_per_rank = v.counts(ranks);
  t.remote_bytes_total = v.count();
  t.remote_dispatch_bytes = v.count();
  t.remote_combine_bytes = v.count();
  t.copies_per_token = v.number();
  t.remote_copies_per_token = v.number();
  t.dispatch_algbw_gbps = v.number();
  t.dispatch_busbw_gbps = v.number();
  c.traffic = t;
  Load l;
  l.tokens_per_expert = v.counts(experts);
  l.tokens_per_rank = v.numbers(ranks);
  l.rows_computed_per_rank = v.counts(ranks);
  l.expert_imbalance = v.number();
  l.rank_imbalance = v.number();
  l.dropped_pairs = v.count();
  l.dropped_fraction = v.number() / 1000;  // fractions: the reader refuses more than 1
  l.internal_collaboration = v.number() / 1000;
  l.coactivation = v.numbers(experts * experts);
  c.load = l;
  const int64_t rows = v.count();
  c.check = OutputCheck{true, v.number(), rows / 7, rows, v.number()};  // wrong rows among them
  c.check->routing_mismatches = rows / 11;  // a backend with a gate of its own
  c.speedup_vs_baseline = v.number();
  return c;
}

TEST(CellResult, EverySectionSurvivesItsReportJson) {
  for (unsigned seed : {1u, 7u, 2024u}) {
    const CellResult cell = full_cell(seed);
    const json j = to_json(cell);
    // Through the report's text, as a reader gets it.
    const json text = json::parse(j.dump(1));
    const CellResult back = cell_result_from_json(text, "r.json");
    EXPECT_EQ(to_json(back), j);
    EXPECT_EQ(to_json(back).dump(1), j.dump(1));
    EXPECT_EQ(back.traffic->dispatch_bytes, cell.traffic->dispatch_bytes);
    EXPECT_EQ(back.load->coactivation, cell.load->coactivation);
    EXPECT_EQ(back.check->wrong_rows, cell.check->wrong_rows);
    EXPECT_EQ(back.phase(Phase::kSync)->samples_us, cell.phase(Phase::kSync)->samples_us);
    EXPECT_DOUBLE_EQ(back.median_us(Phase::kLayer), cell.median_us(Phase::kLayer));
    EXPECT_DOUBLE_EQ(back.ceilings->combine_alltoallv.stats.p99,
                     cell.ceilings->combine_alltoallv.stats.p99);
    EXPECT_EQ(back.top_t, 3);
    EXPECT_EQ(back.tokens_per_rank, 96);
    EXPECT_EQ(back.overlap_metrics->exposed_communication.samples_us,
              cell.overlap_metrics->exposed_communication.samples_us);
    EXPECT_EQ(back.overlap_metrics->efficiency, cell.overlap_metrics->efficiency);
  }
}

// A pipelined cell is a cell of its own (its key names the degree), and its dispatch and combine
// phases time only what it exposed: its report carries no exchange efficiency.
TEST(CellResult, PipelinedCellsAreKeyedByDegreeAndHaveNoExchangeEfficiency) {
  CellResult cell = full_cell(5);
  const std::string serial_key = cell_key(cell);
  cell.overlap = 4;
  EXPECT_EQ(cell_key(cell), serial_key + " overlap 4");
  const json j = to_json(cell);
  EXPECT_EQ(j["overlap"], 4);
  EXPECT_TRUE(j["efficiency"].contains("expert"));
  EXPECT_FALSE(j["efficiency"].contains("dispatch"));
  const CellResult back = cell_result_from_json(json::parse(j.dump()), "r.json");
  EXPECT_EQ(back.overlap, 4);
  EXPECT_EQ(to_json(back), j);
  // A report from before pipelining has no "overlap": the serial layer.
  json old = to_json(full_cell(5));
  old.erase("overlap");
  EXPECT_EQ(cell_result_from_json(old, "old.json").overlap, 1);
}

TEST(CellResult, ReportJsonKeepsTheSchemaNames) {
  const json j = to_json(full_cell(3));
  for (const char* key :
       {"routing",         "top_t",       "strategy",       "placement",   "layer",
        "tokens_per_rank", "baseline",    "in_grid",        "expert_rank", "placement_search",
        "top_t_source",    "trace_match", "phases",         "ceilings",    "efficiency",
        "expert_gflops",   "traffic",     "load",           "check",       "speedup_vs_baseline",
        "dtype",           "overlap",     "overlap_metrics"}) {
    EXPECT_TRUE(j.contains(key)) << key;
  }
  EXPECT_EQ(j.size(), 23u);
  EXPECT_EQ(j["phases"].size(), 8u);
  EXPECT_TRUE(j["phases"].contains("sync"));
  EXPECT_TRUE(j["traffic"].contains("dispatch_algbw_GBps"));
  EXPECT_TRUE(j["traffic"]["remote_bytes_total"].is_number_integer());
  EXPECT_TRUE(j["load"]["tokens_per_rank"][0].is_number_float());
  EXPECT_EQ(j["phases"]["layer"],
            to_json(phase_stats(full_cell(3).phase(Phase::kLayer)->samples_us)));
  // An unchecked cell says only that.
  CellResult unchecked = full_cell(3);
  unchecked.check = OutputCheck{};
  EXPECT_EQ(to_json(unchecked)["check"], json({{"checked", false}}));
}

// A version-1 report of the PyTorch peer: no traffic, load, efficiency, ceilings or speedup.
TEST(CellResult, APeersSparseCellStaysSparse) {
  const json peer = {{"routing", "vanilla"},
                     {"top_t", nullptr},
                     {"strategy", "dropless"},
                     {"placement", "contiguous"},
                     {"layer", 0},
                     {"baseline", true},
                     {"in_grid", true},
                     {"phases", {{"layer", {{"median_us", 12.5}, {"samples_us", {12.5}}}}}},
                     {"implementation", "pytorch"}};
  const CellResult cell = cell_result_from_json(peer, "peer.json");
  EXPECT_FALSE(cell.traffic || cell.load || cell.efficiency || cell.ceilings || cell.check ||
               cell.speedup_vs_baseline || cell.expert_gflops || cell.top_t);
  EXPECT_FALSE(cell.phase(Phase::kGate));
  EXPECT_EQ(cell.median_us(Phase::kGate), 0.0);
  EXPECT_EQ(cell.median_us(Phase::kLayer), 12.5);
  const json back = to_json(cell);
  EXPECT_FALSE(back.contains("traffic") || back.contains("load") || back.contains("efficiency"));
  EXPECT_EQ(back["phases"].size(), 1u);
  EXPECT_THROW(cell_result_from_json(json{{"routing", "vanilla"}}, "peer.json"), Error);
}

TEST(CellResult, ReportSurvivesItsJson) {
  Report report;
  report.context = {{"hosts", {"a", "b"}}, {"ranks", 4}};
  report.config = {{"tokens_per_rank", 96}, {"ranks", 4}, {"backend", "cpu"}};
  report.results = {full_cell(11), full_cell(12)};
  report.results[1].layer = 18;  // two cells of one layer would be one cell twice
  report.summary =
      std::vector<LayerSummary>{{"c2r", 3, "dedup", "collab", "bf16", 1, 2, 0.5, 0.75, 0.8, 1.2}};
  const json doc = to_json(report);
  EXPECT_EQ(doc["schema"], kReportSchema);
  EXPECT_EQ(doc["schema_version"], 1);
  const Report back = report_from_json(parse_report(doc.dump(1), "r.json"), "r.json");
  EXPECT_EQ(to_json(back), doc);
  ASSERT_TRUE(back.summary);
  EXPECT_EQ(back.summary->front().top_t, 3);
}

TEST(CellKey, OneKeyForEveryReader) {
  CellResult cell = cell_named("c2r", 4, "dedup", "collab", 3);
  EXPECT_EQ(cell_key(cell), "layer 3 c2r T=4 dedup collab");
  cell.tokens_per_rank = 64;
  cell.ranks = 4;
  EXPECT_EQ(cell_key(cell), "layer 3 ranks 4 tokens 64 c2r T=4 dedup collab");
  EXPECT_EQ(cell_key(cell, {/*layer=*/true, /*sizes=*/false}), "layer 3 c2r T=4 dedup collab");
  EXPECT_EQ(cell_key(cell, {/*layer=*/false, /*sizes=*/false}), "c2r T=4 dedup collab");
  cell.ranks = 2.5;
  EXPECT_EQ(cell_key(cell), "layer 3 ranks 2.5 tokens 64 c2r T=4 dedup collab");
  // Vanilla routing has no Top-T; a cell without a layer (a peer's) is layer 0.
  const CellResult vanilla = cell_named("vanilla", std::nullopt, "dropless", "contiguous", {});
  EXPECT_EQ(cell_key(vanilla), "layer 0 vanilla dropless contiguous");
  // The key distinguishes what the layer summary averages separately.
  CellResult other = cell;
  other.top_t = 1;
  EXPECT_NE(cell_key(cell, {false, false}), cell_key(other, {false, false}));
}

TEST(Phases, OneOrderedListOfReportedPhases) {
  EXPECT_EQ(reported_phase_names(),
            (std::vector<std::string>{"gate", "permute", "dispatch", "expert", "combine",
                                      "unpermute", "layer"}));
  for (int p = 0; p < kNumResultPhases; ++p) {
    EXPECT_EQ(phase_from_name(phase_name(static_cast<Phase>(p))), static_cast<Phase>(p));
  }
  EXPECT_EQ(phase_name(Phase::kSync), std::string("sync"));
  EXPECT_FALSE(phase_from_name("total"));
}

// A device gate that breaks a near-tie the other way routes a token to other experts: counted
// per token, by the set of its k experts (their order is no difference).
TEST(RoutingMismatches, CountsTokensWhoseExpertSetsDiffer) {
  const std::vector<int32_t> cpu = {0, 1, 2, 3, 4, 5, 6, 7};  // 4 tokens, k = 2
  EXPECT_EQ(routing_mismatches(cpu, cpu, 2), 0);
  EXPECT_EQ(routing_mismatches(cpu, {1, 0, 3, 2, 4, 5, 7, 6}, 2), 0);  // orders only
  EXPECT_EQ(routing_mismatches(cpu, {0, 1, 2, 4, 4, 5, 6, 0}, 2), 2);
  EXPECT_EQ(routing_mismatches({}, {}, 4), 0);
  EXPECT_THROW(routing_mismatches(cpu, {0, 1}, 2), Error);
}

}  // namespace
}  // namespace c2r
