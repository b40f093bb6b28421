#include "bench/memory_estimate.hpp"

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <iterator>
#include <limits>
#include <optional>
#include <set>
#include <sstream>
#include <tuple>

#include "bench/cache_flush.hpp"
#include "bench/cell_run.hpp"
#include "common/checked_size.hpp"
#include "common/error.hpp"
#include "common/node_layout.hpp"
#include "kernels/cpu/expert_ffn.hpp"

namespace c2r {

namespace {

constexpr double kInfinity = std::numeric_limits<double>::infinity();
// 2^63 bytes: no 64-bit size reaches it.
constexpr double kUnaddressableBytes = 9223372036854775808.0;

// The rows a capacity-limited exchange sends from a rank: its capacity slots of every expert.
// padded_capacity converts a double to int64_t, so it is asked only where the slots of every
// expert stay well inside 64 bits (2^62; no buffer of that many rows fits either).
std::optional<int64_t> capacity_rows(double capacity_factor, int64_t tokens, int top_k,
                                     int experts) {
  const double slots = capacity_factor * static_cast<double>(tokens) * top_k / experts;
  if (!(slots * experts < 0x1p62)) return std::nullopt;
  return checked_mul(padded_capacity(capacity_factor, tokens, top_k, experts), experts);
}

// Every timed iteration of every cell, kept until the report is written: each phase, the layer
// and each ceiling as this rank's seconds, the samples reduced over ranks, the result's copy, and
// a JSON number in the report (its node and its text). With a minimum time a cell may run up to
// the cap on iterations.
double timing_sample_bytes(const RunConfig& config) {
  constexpr int64_t kBytesPerSample = 8 + 8 + 8 + 16 + 24;
  const int64_t iterations = config.loops.min_seconds > 0.0
                                 ? std::max(config.loops.iterations, config.loops.max_iterations)
                                 : config.loops.iterations;
  return product_bytes({static_cast<int64_t>(config.cells.size()), iterations,
                        kNumPhases + 1 + kNumCeilings, kBytesPerSample});
}

}  // namespace

void finish_estimate(MemoryEstimate& e) {
  std::sort(e.items.begin(), e.items.end(),
            [](const auto& a, const auto& b) { return a.second > b.second; });
  e.total_bytes = 0.0;
  for (const auto& [what, bytes] : e.items) e.total_bytes += bytes;
  if (!(e.total_bytes < kUnaddressableBytes)) e.total_bytes = kInfinity;
}

MemoryEstimate estimate_rank_memory(const RunConfig& config) {
  const ModelConfig& m = config.model;
  const int64_t f = sizeof(float);
  const int64_t tokens = config.tokens_per_rank;
  const std::optional<int64_t> pairs = checked_mul(tokens, m.top_k);
  const int ranks = std::max(config.ranks, 1);
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
  // A 2x margin for skew, more with more ranks.
  const std::optional<int64_t> skew_rows =
      pairs ? checked_mul(*pairs, std::min(ranks, 2)) : std::nullopt;
  double exchange_bytes = 0.0, expert_order_bytes = 0.0, ceiling_bytes = 0.0;
  std::set<std::tuple<int, int, int>> groups;  // (layer, routing, Top-T): tokens and gate each
  for (const Cell& cell : config.cells) {
    groups.insert({cell.layer, static_cast<int>(cell.routing), cell.top_t});
    const ExchangeRules& rules = cell.strategy->rules;
    std::optional<int64_t> cell_rows = skew_rows;
    if (rules.capacity_limited() && cell_rows) {
      // A pipelined cell sizes each chunk's capacity on its own: their slots add up.
      std::optional<int64_t> slots = int64_t{0};
      for (int c = 0; c < cell.overlap && slots; ++c) {
        const int64_t chunk = std::max<int64_t>(1, token_chunk(tokens, cell.overlap, c).count);
        // A replicated placement gives each expert slot its capacity.
        const int experts = cell.placement == "eplb" ? m.experts + config.replicas : m.experts;
        const std::optional<int64_t> chunk_slots =
            capacity_rows(config.capacity_factor, chunk, m.top_k, experts);
        slots = chunk_slots ? checked_add(*slots, *chunk_slots) : std::nullopt;
      }
      cell_rows = slots ? std::max(*cell_rows, *slots) : slots;
    }
    // Rows in the cell's payload type (the larger of its dispatch and combine rows); other types
    // than fp32 also hold every buffer's rows as floats, which the CPU packs and reads.
    const RowFormat dispatch = rules.dispatch_format(m.hidden, m.top_k, cell.dtype);
    const RowFormat combine = ExchangeRules::combine_format(m.hidden, cell.dtype);
    const int64_t row_bytes =
        std::max(dispatch.row_bytes(), combine.row_bytes()) +
        (cell.dtype == PayloadType::kFp32 ? 0 : rules.dispatch_row_floats(m.hidden, m.top_k) * f);
    const double cell_exchange = bytes_of(cell_rows, {row_bytes, 4});
    hold(exchange_bytes, cell_exchange);
    if (rules.expert_order_buffers > 0) {
      hold(expert_order_bytes, bytes_of(cell_rows, {m.hidden, f, rules.expert_order_buffers}));
    }
    // Ceilings: the dense GEMM's input and output, a send and a receive buffer; one set serves
    // every cell (the largest counts).
    if (config.ceilings) {
      ceiling_bytes =
          std::max(ceiling_bytes, bytes_of(cell_rows, {m.hidden, f, 2}) + cell_exchange / 2);
    }
  }
  const double groups_held = interleaved ? static_cast<double>(groups.size()) : 1.0;
  const double cells_held = interleaved ? static_cast<double>(config.cells.size()) : 1.0;
  // Weights are generated once per expert a rank uses (its replicas share them): E/R under one
  // placement, up to E/R + replicas/R distinct experts under eplb, every expert under several
  // placements or with the reference (which runs every expert).
  bool several_placements = false;
  int64_t slots_per_rank = (m.experts + ranks - 1) / ranks;
  for (const Cell& cell : config.cells) {
    several_placements |= cell.placement != config.cells.front().placement;
    if (cell.placement == "eplb") {
      slots_per_rank = std::max<int64_t>(slots_per_rank, (m.experts + config.replicas) / ranks);
    }
  }
  const int64_t experts_held =
      config.check || several_placements ? m.experts : std::min<int64_t>(m.experts, slots_per_rank);
  const double pair_bytes = bytes_of(pairs, {8});

  MemoryEstimate e;
  e.items = {
      {"expert weights",
       bytes_of(experts_held, {3, m.hidden, m.ffn, f}) +
           (m.shared_ffn > 0 ? product_bytes({3, m.hidden, m.shared_ffn, f}) : 0.0)},
      {"tokens, output and router",
       groups_held * (bytes_of(tokens, {m.hidden, f, m.shared_ffn > 0 ? 2 : 1}) +
                      product_bytes({m.hidden, m.experts, f}) + pair_bytes) +
           cells_held * (bytes_of(tokens, {m.hidden, f, 2}) + bytes_of(tokens, {m.experts, f}) +
                         pair_bytes)},
      {"exchange buffers", exchange_bytes},
      {"expert-order buffers", expert_order_bytes},
      {"FFN scratch", product_bytes({ffn_scratch_floats(std::max(m.ffn, m.shared_ffn)), f})},
      {"ceilings (cache flush, dense GEMM input, exchange buffers)",
       config.ceilings ? static_cast<double>(CacheFlusher::machine_bytes()) + ceiling_bytes : 0.0},
      {"serial reference", config.check ? bytes_of(tokens, {m.hidden, f, 2}) : 0.0},
      {"timing samples", timing_sample_bytes(config)},
  };
  finish_estimate(e);
  // The job's (token, expert) pairs are counted in 64 bits (token offsets, loads, traffic): a
  // job beyond them cannot run, whatever a rank holds.
  if (!checked_product({tokens, ranks, m.top_k})) e.total_bytes = kInfinity;
  return e;
}

MemoryEstimate estimate_topology_memory(const TopologyOptions& options, int ranks) {
  const int64_t r = std::max(ranks, 1);
  // The all2all of `total` bytes per rank sends at least one byte to each peer.
  double alltoall = 0.0;
  for (int64_t total : options.alltoall_bytes) {
    alltoall = std::max(alltoall, product_bytes({std::max<int64_t>(1, total / r), r, 2}));
  }
  // A latency and a bandwidth matrix, reduced in place, copied into the profile and again by the
  // cluster model; written as JSON numbers (about 48 bytes each, parsed or printed).
  constexpr int64_t kJsonNumberBytes = 48;
  MemoryEstimate e;
  e.items = {
      {"bandwidth probe buffer", static_cast<double>(std::max(options.large_bytes, 0))},
      {"all2all send and receive buffers", alltoall},
      {"rank-to-rank matrices",
       product_bytes({r, r, 2, 3, 8}) + product_bytes({r, r, 2, kJsonNumberBytes})},
      // Two untimed warm-ups; the timings, a sorted copy and the reduction over ranks.
      {"timings", product_bytes({std::max(options.repetitions, 0) + int64_t{2}, 8, 3})},
      {"rank places", product_bytes({r, 1024})},
  };
  finish_estimate(e);
  return e;
}

std::string describe_items(const MemoryEstimate& e) {
  std::string items;
  for (const auto& [what, bytes] : e.items) {
    if (bytes > 0) items += (items.empty() ? "" : ", ") + what + " " + format_bytes(bytes);
  }
  return items;
}

int ranks_on_this_node(const Communicator& comm) {
  return node_layout(comm).local_ranks;
}

double default_memory_per_rank(int local_ranks) {
  const double physical =
      static_cast<double>(sysconf(_SC_PHYS_PAGES)) * static_cast<double>(sysconf(_SC_PAGESIZE));
  return physical / std::max(local_ranks, 1);
}

std::string format_bytes(double bytes) {
  if (!(bytes < kUnaddressableBytes)) return "8 EiB or more";
  if (bytes < 1024.0) return std::to_string(static_cast<int>(bytes)) + " B";
  static const char* const kUnits[] = {"KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
  double value = bytes / 1024.0;
  size_t unit = 0;
  while (value >= 1024.0 && unit + 1 < std::size(kUnits)) {
    value /= 1024.0;
    ++unit;
  }
  std::ostringstream out;
  out.setf(std::ios::fixed);
  out.precision(2);
  out << value << " " << kUnits[unit];
  return out.str();
}

}  // namespace c2r
