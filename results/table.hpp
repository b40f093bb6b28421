#pragma once
// Fixed-width console tables with a units row, in the manner of nccl-tests.

#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "results/report.hpp"

namespace c2r {

class Table {
 public:
  struct Column {
    std::string name;
    std::string unit;   // printed under the name, in parentheses; "" for none
    bool left = false;  // left-align (text columns)
  };

  explicit Table(std::vector<Column> columns) : columns_(std::move(columns)) {}
  void add_row(std::vector<std::string> cells);
  void print(std::ostream& out) const;

 private:
  std::vector<Column> columns_;
  std::vector<std::vector<std::string>> rows_;
};

std::string format_fixed(double value, int decimals);

// The columns that name a cell in every table: routing, T, strategy, placement, dtype, and `ovl`
// (its pipeline degree) when `pipelined`; and a row's cells for them.
std::vector<Table::Column> cell_name_columns(bool pipelined);
std::vector<std::string> cell_name_cells(const std::string& routing, std::optional<int> top_t,
                                         const std::string& strategy, const std::string& placement,
                                         const std::string& dtype, int overlap, bool pipelined);

// The `run` table: one row per result cell (median phase times, speedup, traffic, load, check).
// `config` is the report's configuration (JSON, as echoed).
void print_run_table(std::ostream& out, const nlohmann::json& config,
                     const std::vector<CellResult>& results);

// Per-layer averages of each cell against the baseline (traffic and time ratios), when a run covers
// several layers.
void print_layer_summary(std::ostream& out, const std::vector<LayerSummary>& summary);

}  // namespace c2r
