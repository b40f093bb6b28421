#include "bench/memory_estimate.hpp"

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <set>
#include <sstream>
#include <tuple>

#include "bench/harness.hpp"
#include "common/error.hpp"
#include "kernels/cpu/expert_ffn.hpp"

namespace c2r {

MemoryEstimate estimate_rank_memory(const RunConfig& config) {
  const ModelConfig& m = config.model;
  const double f = sizeof(float);
  const double tokens = static_cast<double>(config.tokens_per_rank);
  const double pairs = tokens * m.top_k;
  const double ranks = std::max(config.ranks, 1);
  const double hidden_row = m.hidden * f;
  // The exchange of each strategy in the grid, by its own rules: received rows can reach every
  // rank's pairs (skewed routing), or the capacity slots of a capacity-limited strategy when
  // those are more; each row as large as the strategy's dispatch row; four such buffers (sent,
  // received, expert output, returned). Besides them, the strategy's expert-order buffers of as
  // many rows of H floats (dropless and padded: the received rows regrouped by local expert).
  // Interleaved cells all keep their buffers (summed); cells run one after another free theirs
  // (the largest counts).
  const bool interleaved = config.order == CellOrder::kInterleaved;
  const auto hold = [interleaved](double& total, double cell) {
    total = interleaved ? total + cell : std::max(total, cell);
  };
  const double skew_rows =
      pairs * std::min(ranks, 2.0);  // a 2x margin for skew, more with more ranks
  double exchange_bytes = 0.0, expert_order_bytes = 0.0, ceiling_bytes = 0.0;
  std::set<std::tuple<int, int, int>> groups;  // (layer, routing, Top-T): tokens and gate each
  for (const Cell& cell : config.cells) {
    groups.insert({cell.layer, static_cast<int>(cell.routing), cell.top_t});
    const ExchangeRules& rules = cell.strategy->rules;
    double cell_rows = skew_rows;
    if (rules.capacity_limited()) {
      const double capacity = static_cast<double>(
          padded_capacity(config.capacity_factor, config.tokens_per_rank, m.top_k, m.experts));
      cell_rows = std::max(cell_rows, capacity * m.experts);
    }
    const double cell_exchange = cell_rows * rules.dispatch_row_floats(m.hidden, m.top_k) * f * 4.0;
    hold(exchange_bytes, cell_exchange);
    hold(expert_order_bytes, cell_rows * hidden_row * rules.expert_order_buffers);
    // Ceilings: the dense GEMM's input and output, a send and a receive buffer; one set serves
    // every cell (the largest counts).
    ceiling_bytes = std::max(
        ceiling_bytes, config.ceilings ? cell_rows * hidden_row * 2.0 + cell_exchange / 2 : 0.0);
  }
  const double groups_held = interleaved ? static_cast<double>(groups.size()) : 1.0;
  const double cells_held = interleaved ? static_cast<double>(config.cells.size()) : 1.0;
  bool several_placements = false;
  for (const Cell& cell : config.cells) several_placements |= cell.placement != "contiguous";
  const double experts_held =
      config.check || several_placements ? m.experts : std::ceil(m.experts / ranks);
  const double expert_bytes = 3.0 * m.hidden * m.ffn * f;

  MemoryEstimate e;
  e.items = {
      {"expert weights",
       experts_held * expert_bytes + (m.shared_ffn > 0 ? 3.0 * m.hidden * m.shared_ffn * f : 0.0)},
      {"tokens, output and router",
       groups_held * (tokens * hidden_row * (1.0 + (m.shared_ffn > 0 ? 1.0 : 0.0)) +
                      static_cast<double>(m.hidden) * m.experts * f + pairs * 8.0) +
           cells_held * (tokens * hidden_row * 2.0 + tokens * m.experts * f + pairs * 8.0)},
      {"exchange buffers", exchange_bytes},
      {"expert-order buffers", expert_order_bytes},
      {"FFN scratch", ffn_scratch_floats(std::max(m.ffn, m.shared_ffn)) * f},
      {"ceilings (cache flush, dense GEMM input, exchange buffers)",
       config.ceilings ? static_cast<double>(CacheFlusher::kBytes) + ceiling_bytes : 0.0},
      {"serial reference", config.check ? tokens * hidden_row * 2.0 : 0.0},
  };
  std::sort(e.items.begin(), e.items.end(),
            [](const auto& a, const auto& b) { return a.second > b.second; });
  for (const auto& [what, bytes] : e.items) e.total_bytes += bytes;
  return e;
}

double default_memory_per_rank(int local_ranks) {
  const double physical =
      static_cast<double>(sysconf(_SC_PHYS_PAGES)) * static_cast<double>(sysconf(_SC_PAGESIZE));
  return physical / std::max(local_ranks, 1);
}

std::string format_bytes(double bytes) {
  std::ostringstream out;
  out.setf(std::ios::fixed);
  out.precision(2);
  if (bytes >= 1024.0 * 1024.0 * 1024.0) {
    out << bytes / (1024.0 * 1024.0 * 1024.0) << " GiB";
  } else {
    out << bytes / (1024.0 * 1024.0) << " MiB";
  }
  return out.str();
}

}  // namespace c2r
