#include "bench/layer_suite.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <numeric>

#include "bench/cpu_layer.hpp"
#include "bench/harness.hpp"
#include "bench/layer_steps.hpp"
#include "common/error.hpp"
#include "kernels/cpu/blas.hpp"
#include "kernels/cpu/permute.hpp"
#include "results/stats.hpp"

namespace c2r {

using nlohmann::json;

const FfnWeights& ExpertCache::get(int expert) {
  auto& slot = weights_[expert];
  if (!slot) {
    slot = std::make_unique<FfnWeights>(
        make_ffn_weights(seed_, Stream::kExpert, expert, hidden_, ffn_));
  }
  return *slot;
}

LayerSuite::LayerSuite(const RunConfig& config, const Communicator& comm, DataStore& data)
    : config_(config),
      comm_(comm),
      data_(data),
      routing_(config.model, config.workload, config.first_token(comm.rank()),
               config.rank_tokens.at(comm.rank()), comm, data),
      experts_(config.workload.seed, config.model.hidden, config.model.ffn) {
  if (config.model.shared_ffn > 0) {
    shared_expert_ = make_ffn_weights(config.workload.seed, Stream::kSharedExpert, 0,
                                      config.model.hidden, config.model.shared_ffn);
  }
}

bool LayerSuite::has_added_placement(const std::string& name, int layer) const {
  return added_placements_.count({name, layer}) > 0;
}

void LayerSuite::prepare_group(const Cell& cell) {
  if (group_.layer == cell.layer && group_.routing == cell.routing && group_.top_t == cell.top_t) {
    return;
  }
  const ModelConfig& model = config_.model;
  const int k = model.top_k;
  const int64_t tokens = config_.rank_tokens[comm_.rank()];
  group_ = RoutingGroup{};
  group_.layer = cell.layer;
  group_.routing = cell.routing;
  group_.top_t = cell.top_t;

  group_.gate = routing_.gate(cell.layer, cell.routing, cell.top_t, &group_.c2r_list_source);
  group_.batch = routing_.batch(cell.layer, cell.routing, cell.top_t);

  std::vector<float> logits(tokens * model.experts);
  group_.expert_ids.resize(tokens * k);
  group_.weights.resize(tokens * k);
  std::vector<float> shared_scale(group_.batch.w_shared_gate.empty() ? 0 : tokens);
  run_gate(group_.batch, model, group_.gate, logits.data(), group_.expert_ids.data(),
           group_.weights.data(), shared_scale);

  if (routing_.pair_trace()) {  // collective: decided alike on every rank, whatever its tokens
    int64_t matched = 0;
    for (int64_t t = 0; t < tokens; ++t) {
      matched += group_.expert_ids[t * k] == group_.batch.trace_pair[t * 2] &&
                 group_.expert_ids[t * k + 1] == group_.batch.trace_pair[t * 2 + 1];
    }
    group_.trace_match = static_cast<double>(comm_.allreduce_sum(matched)) / config_.total_tokens();
  }
  group_.coactivation = coactivation_counts(group_.expert_ids, k, model.experts);
  comm_.allreduce_sum(group_.coactivation.counts);
  group_.tokens_per_expert.assign(model.experts, 0);
  for (int32_t e : group_.expert_ids) ++group_.tokens_per_expert[e];
  comm_.allreduce_sum(group_.tokens_per_expert);
}

void LayerSuite::add_placement(const std::string& name, int layer, const Placement& placement) {
  added_placements_.insert_or_assign({name, layer}, placement);
}

Placement LayerSuite::make_placement(const std::string& name, int layer, CollabSearch* search) {
  const int experts = config_.model.experts;
  auto added = added_placements_.find({name, layer});
  if (added != added_placements_.end()) return added->second;
  if (name == "contiguous") return contiguous_placement(experts, comm_.size());
  if (name == "round-robin") return round_robin_placement(experts, comm_.size());
  if (name == "collab") return collab_placement(group_.coactivation, comm_.size(), search);
  return data_.placement_file(name).for_layer(layer, experts, comm_.size(), config_.model.preset);
}

std::vector<bool> LayerSuite::expected_kept(const StrategyDescriptor& strategy) const {
  const ModelConfig& model = config_.model;
  std::vector<bool> kept(group_.expert_ids.size(), true);
  if (!strategy.rules.capacity_limited()) return kept;
  // Every rank sizes the slots from the largest rank's tokens (config_.tokens_per_rank).
  const int64_t capacity =
      padded_capacity(config_.capacity_factor, config_.tokens_per_rank, model.top_k, model.experts);
  std::vector<int64_t> taken(model.experts, 0);  // [E] this rank's pairs placed so far
  for (size_t p = 0; p < kept.size(); ++p) kept[p] = taken[group_.expert_ids[p]]++ < capacity;
  return kept;
}

const std::vector<float>& LayerSuite::reference(const std::vector<bool>& kept) {
  for (const auto& [mask, output] : group_.references) {
    if (mask == kept) return output;
  }
  // y_t = sum over kept chosen experts e of w_te * FFN_e(x_t) (+ the shared expert), computed per
  // expert on this rank's own tokens: no exchange, no placement, no strategy code involved.
  const ModelConfig& model = config_.model;
  const int k = model.top_k;
  const int hidden = model.hidden;
  const TokenBatch& batch = group_.batch;
  std::vector<float> y(batch.tokens * hidden, 0.0f);
  std::vector<float> scratch(ffn_scratch_floats(std::max(model.ffn, model.shared_ffn)));
  std::vector<int64_t> rows;
  std::vector<float> x_rows, out_rows;
  for (int e = 0; e < model.experts; ++e) {
    rows.clear();
    for (int64_t p = 0; p < batch.tokens * k; ++p) {
      if (group_.expert_ids[p] == e && kept[p]) rows.push_back(p);
    }
    if (rows.empty()) continue;
    x_rows.resize(rows.size() * hidden);
    out_rows.resize(rows.size() * hidden);
    for (size_t i = 0; i < rows.size(); ++i) {
      std::copy_n(&batch.x[(rows[i] / k) * hidden], hidden, &x_rows[i * hidden]);
    }
    swiglu_ffn(
        experts_.get(e),
        RowBlock{x_rows.data(), hidden, out_rows.data(), hidden, static_cast<int64_t>(rows.size())},
        scratch.data());
    for (size_t i = 0; i < rows.size(); ++i) {
      const float w = group_.weights[rows[i]];
      float* out = &y[(rows[i] / k) * hidden];
      for (int h = 0; h < hidden; ++h) out[h] += w * out_rows[i * hidden + h];
    }
  }
  if (shared_expert_) {
    std::vector<float> shared_out(batch.tokens * hidden);
    swiglu_ffn(*shared_expert_,
               RowBlock{batch.x.data(), hidden, shared_out.data(), hidden, batch.tokens},
               scratch.data());
    for (int64_t t = 0; t < batch.tokens; ++t) {
      double dot = 0.0;
      for (int h = 0; h < hidden; ++h) {
        dot += static_cast<double>(batch.x[t * hidden + h]) * batch.w_shared_gate[h];
      }
      const float scale = static_cast<float>(1.0 / (1.0 + std::exp(-dot)));
      for (int h = 0; h < hidden; ++h) y[t * hidden + h] += scale * shared_out[t * hidden + h];
    }
  }
  group_.references.emplace_back(kept, std::move(y));
  return group_.references.back().second;
}

CellResult LayerSuite::run_cell(const Cell& cell) {
  prepare_group(cell);
  CollabSearch search;
  const Placement placement = make_placement(cell.placement, cell.layer, &search);

  CpuLayerSetup setup;
  setup.model = &config_.model;
  setup.batch = &group_.batch;
  setup.gate = &group_.gate;
  setup.placement = &placement;
  setup.strategy = cell.strategy;
  for (int e : placement.local_experts(comm_.rank())) setup.bank.local.push_back(&experts_.get(e));
  setup.shared = shared_expert();
  setup.capacity_factor = config_.capacity_factor;
  setup.capacity_tokens = config_.tokens_per_rank;
  CpuLayer layer(setup, comm_);

  CellMeasurement m;
  m.samples = time_layer(comm_, config_.loops, layer);
  m.shape = layer.strategy().shape();
  const FfnWeights& dense_weights = *setup.bank.local.front();
  if (config_.ceilings) time_ceilings(*cell.strategy, dense_weights, m);
  m.flops_per_row = dense_weights.flops_per_row();
  m.y = std::move(layer.output());
  return cell_result(cell, placement, search, m);
}

void LayerSuite::time_ceilings(const StrategyDescriptor& strategy, const FfnWeights& dense_weights,
                               CellMeasurement& m) {
  const ModelConfig& model = config_.model;
  const int hidden = model.hidden;
  const TokenBatch& batch = group_.batch;
  const ExchangeShape& shape = m.shape;
  const int64_t routed_rows = std::accumulate(shape.rows_per_local_expert.begin(),
                                              shape.rows_per_local_expert.end(), int64_t{0});
  std::vector<float> scratch(ffn_scratch_floats(std::max(model.ffn, model.shared_ffn)));
  std::vector<float> shared_out(shared_expert_ ? batch.tokens * hidden : 0);  // [T x H]
  // Expert: the same FLOPs as dense GEMMs on one contiguous batch per FFN width.
  std::vector<float> dense_x(std::max<int64_t>(routed_rows, 1) * hidden);
  // Any values will do; this rank's tokens repeated (a rank may have none: then zeros, which
  // cost a GEMM the same).
  for (size_t i = 0; i < dense_x.size() && !batch.x.empty(); ++i) {
    dense_x[i] = batch.x[i % batch.x.size()];
  }
  std::vector<float> dense_out(dense_x.size());
  CacheFlusher flusher;
  const auto flush = [&] { flusher.flush(); };
  m.expert_ceiling = time_interval(
      comm_, config_.loops,
      [&] {
        dense_ffn_gemms(dense_weights, dense_x.data(), routed_rows, scratch.data(),
                        dense_out.data());
        if (shared_expert_) {
          dense_ffn_gemms(*shared_expert_, batch.x.data(), batch.tokens, scratch.data(),
                          shared_out.data());
        }
      },
      flush);
  // Dispatch / combine: the plain collective of the same rows, row size and layout
  // (MPI_Alltoallv; MPI_Alltoall for a fixed-size exchange), in the layer's cache state: the
  // caches flushed (the layer's expert GEMMs stream its weights through them, evicting the
  // receive buffers), then the send buffer written, as the layer's pack and expert steps write
  // theirs just before the exchange.
  const bool fixed_size = !strategy.rules.exchanges_counts();
  auto exchange_ceiling = [&](const AlltoallvLayout& layout, int64_t row_bytes) {
    std::vector<char> send(std::max<int64_t>(layout.total_send_rows(), 1) * row_bytes);
    std::vector<char> recv(std::max<int64_t>(layout.total_recv_rows(), 1) * row_bytes);
    const RowType row(row_bytes);
    char value = 0;
    const auto flush_then_write_send = [&] {
      flusher.flush();
      std::memset(send.data(), ++value, send.size());
    };
    return time_interval(
        comm_, config_.loops,
        [&] {
          if (fixed_size) {
            comm_.alltoall_rows(send.data(), layout.send_rows.empty() ? 0 : layout.send_rows[0],
                                recv.data(), row);
          } else {
            comm_.alltoallv_rows(send.data(), recv.data(), layout, row);
          }
        },
        flush_then_write_send);
  };
  m.dispatch_ceiling = exchange_ceiling(shape.dispatch, shape.dispatch_row_bytes);
  m.combine_ceiling = exchange_ceiling(shape.combine, shape.combine_row_bytes);
}

}  // namespace c2r
