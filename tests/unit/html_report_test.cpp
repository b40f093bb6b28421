// The HTML page's latency plot of a tokens sweep (results/html_report.hpp): one line per cell and
// payload type on log-log axes, for layer latency and for dispatch + combine latency.
#include <gtest/gtest.h>

#include <map>
#include <regex>
#include <string>
#include <vector>

#include "results/html_report.hpp"
#include "results/stats.hpp"

namespace c2r {
namespace {

CellResult swept_cell(const std::string& strategy, int64_t tokens, double layer_us,
                      double exchange_us, std::optional<std::string> dtype) {
  CellResult r;
  r.routing = "vanilla";
  r.strategy = strategy;
  r.placement = "contiguous";
  r.layer = 0;
  r.tokens_per_rank = tokens;
  r.dtype = dtype.value_or("fp32");
  r.baseline = strategy == "dropless" && !dtype;
  r.in_grid = true;
  r.phases[static_cast<int>(Phase::kLayer)] = phase_stats({layer_us});
  r.phases[static_cast<int>(Phase::kDispatch)] = phase_stats({exchange_us / 2});
  r.phases[static_cast<int>(Phase::kCombine)] = phase_stats({exchange_us / 2});
  return r;
}

// A sweep over 1..64 tokens per rank: dropless and dedup in fp32 (no dtype field: an older
// report), dedup in bf16.
Report sweep_report() {
  Report report;
  report.config = {{"ranks", 2},
                   {"tokens_per_rank", 64},
                   {"backend", "cpu"},
                   {"sweep", {{"tokens_per_rank", {1, 4, 16, 64}}}}};
  for (int64_t tokens : {1, 4, 16, 64}) {
    const double t = static_cast<double>(tokens);
    report.results.push_back(swept_cell("dropless", tokens, 100 + 10 * t, 20 + t, std::nullopt));
    report.results.push_back(swept_cell("dedup", tokens, 90 + 8 * t, 15 + t, std::nullopt));
    report.results.push_back(swept_cell("dedup", tokens, 80 + 5 * t, 10 + t, "bf16"));
  }
  return report;
}

std::map<std::string, int> count_classes(const std::string& page) {
  std::map<std::string, int> count;
  const std::regex shape(R"(<(?:polyline|circle|svg) class="([a-z-]+)\")");
  for (auto it = std::sregex_iterator(page.begin(), page.end(), shape);
       it != std::sregex_iterator(); ++it) {
    ++count[(*it)[1]];
  }
  return count;
}

// The section of the page from the plot of `css` to its end.
std::string plot_of(const std::string& page, const std::string& css) {
  const size_t start = page.find("<svg class=\"" + css + "\"");
  EXPECT_NE(start, std::string::npos) << css;
  return page.substr(start, page.find("</svg>", start) - start);
}

TEST(HtmlReport, TokensSweepPlotsLayerAndExchangeLatencyPerCellAndPayloadType) {
  const std::string page = render_html({sweep_report()}, {"sweep.json"}, std::nullopt);
  EXPECT_NE(page.find("Latency vs tokens per rank"), std::string::npos);
  const std::map<std::string, int> count = count_classes(page);
  EXPECT_EQ(count.at("latency-layer"), 1);
  EXPECT_EQ(count.at("latency-exchange"), 1);
  // Three lines (dropless fp32, dedup fp32, dedup bf16) of four points, in each plot.
  EXPECT_EQ(count.at("latency-line"), 2 * 3);
  EXPECT_EQ(count.at("latency-point"), 2 * 3 * 4);

  const std::string layer = plot_of(page, "latency-layer");
  for (const char* label : {"vanilla dropless contiguous fp32", "vanilla dedup contiguous fp32",
                            "vanilla dedup contiguous bf16"}) {
    EXPECT_NE(layer.find(std::string(">") + label + "</text>"), std::string::npos) << label;
  }
  // bf16 dashed, fp32 solid; one cell, one colour whatever its payload type.
  EXPECT_EQ(std::regex_search(layer, std::regex(R"(class="latency-line"[^>]*stroke-dasharray)")),
            true);
  const std::regex line(
      R"re(<polyline class="latency-line" fill="none" stroke="(#[0-9a-f]+)"([^>]*)points="([^"]*)")re");
  std::vector<std::string> colours, dashes, points;
  for (auto it = std::sregex_iterator(layer.begin(), layer.end(), line);
       it != std::sregex_iterator(); ++it) {
    colours.push_back((*it)[1]);
    dashes.push_back((*it)[2]);
    points.push_back((*it)[3]);
  }
  ASSERT_EQ(colours.size(), 3u);
  EXPECT_NE(colours[0], colours[1]);
  EXPECT_EQ(colours[1], colours[2]);
  EXPECT_EQ(dashes[1].find("dasharray"), std::string::npos);
  EXPECT_NE(dashes[2].find("dasharray"), std::string::npos);

  // Log x: 1, 4, 16, 64 tokens are evenly spaced; log y: the layer grows, so y falls.
  std::vector<double> xs, ys;
  const std::regex xy(R"(([0-9.]+),([0-9.]+))");
  for (auto it = std::sregex_iterator(points[0].begin(), points[0].end(), xy);
       it != std::sregex_iterator(); ++it) {
    xs.push_back(std::stod((*it)[1]));
    ys.push_back(std::stod((*it)[2]));
  }
  ASSERT_EQ(xs.size(), 4u);
  EXPECT_NEAR(xs[1] - xs[0], xs[2] - xs[1], 0.02);
  EXPECT_NEAR(xs[2] - xs[1], xs[3] - xs[2], 0.02);
  EXPECT_GT(ys[0], ys[1]);
  EXPECT_GT(ys[2], ys[3]);
  // Decades on y: 100 us and 1000 us are ticks (110 .. 740 us of layer time).
  EXPECT_NE(layer.find(">100</text>"), std::string::npos);
  EXPECT_NE(layer.find(">1000</text>"), std::string::npos);
  EXPECT_NE(plot_of(page, "latency-exchange").find(">10</text>"), std::string::npos);
}

TEST(HtmlReport, NoLatencyPlotWithoutATokensSweep) {
  Report one = sweep_report();
  one.config.erase("sweep");
  EXPECT_EQ(render_html({one}, {"one.json"}, std::nullopt).find("latency-"), std::string::npos);
  // A rank sweep is plotted against ranks elsewhere, not here.
  Report ranks = sweep_report();
  ranks.config["sweep"] = {{"ranks", {1, 2}}};
  EXPECT_EQ(render_html({ranks}, {"ranks.json"}, std::nullopt).find("latency-"), std::string::npos);
}

TEST(HtmlReport, LatencyPlotLeavesOutTimesThatCannotBeOnALogAxis) {
  Report report = sweep_report();
  // A cell without a dispatch or combine (a peer's report): on the layer plot only.
  for (CellResult& r : report.results) {
    if (r.strategy == "dropless") {
      r.phases[static_cast<int>(Phase::kDispatch)].reset();
      r.phases[static_cast<int>(Phase::kCombine)].reset();
    }
  }
  const std::string page = render_html({report}, {"sweep.json"}, std::nullopt);
  EXPECT_EQ(count_classes(plot_of(page, "latency-layer")).at("latency-line"), 3);
  EXPECT_EQ(count_classes(plot_of(page, "latency-exchange")).at("latency-line"), 2);
  EXPECT_FALSE(std::regex_search(page, std::regex(R"(\b(nan|inf)\b)")));
}

}  // namespace
}  // namespace c2r
