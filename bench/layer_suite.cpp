#include "bench/layer_suite.hpp"

#include <mpi.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <numeric>
#include <set>

#include "bench/cpu_layer.hpp"
#include "bench/harness.hpp"
#include "bench/layer_steps.hpp"
#include "common/error.hpp"
#include "common/node_layout.hpp"
#include "kernels/cpu/blas.hpp"
#include "kernels/cpu/permute.hpp"
#include "results/stats.hpp"

namespace c2r {

using nlohmann::json;

namespace {

// Grows `buffer` to at least `size` elements (never shrinks: the ceilings of larger cells reuse
// it).
template <typename T>
void grow(std::vector<T>& buffer, size_t size) {
  if (buffer.size() < size) buffer.resize(size);
}

}  // namespace

EplbShape eplb_shape(const Communicator& comm, int experts, int replicas) {
  // Nodes of equal size holding consecutive ranks (mpirun's default --map-by slot): node n holds
  // ranks [n * R / N, (n + 1) * R / N). Otherwise the ranks count as one node.
  const NodeLayout layout = node_layout(comm);
  const int ranks = comm.size();
  const int nodes = layout.nodes;
  bool blocks = ranks % nodes == 0;
  for (int r = 0; r < ranks && blocks; ++r) blocks = layout.node_of_rank[r] == r / (ranks / nodes);
  EplbShape shape;
  shape.ranks = ranks;
  shape.nodes = blocks ? nodes : 1;
  shape.groups = experts % shape.nodes == 0 ? shape.nodes : 1;  // one expert group per node
  shape.replicas = replicas;
  return shape;
}

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
      experts_(config.workload.seed, config.model.hidden, config.model.ffn),
      eplb_shape_(eplb_shape(comm, config.model.experts, config.replicas)) {
  if (config.model.shared_ffn > 0) {
    shared_expert_ = make_ffn_weights(config.workload.seed, Stream::kSharedExpert, 0,
                                      config.model.hidden, config.model.shared_ffn);
  }
}

bool LayerSuite::has_added_placement(const std::string& name, int layer) const {
  return added_placements_.count({name, layer}) > 0;
}

RoutingGroup& LayerSuite::group(const Cell& cell) {
  const auto key = std::make_tuple(cell.layer, static_cast<int>(cell.routing), cell.top_t);
  auto found = groups_.find(key);
  if (found != groups_.end()) return *found->second;
  // A sequential run holds one group at a time (the cells before it are done).
  if (config_.order == CellOrder::kSequential) groups_.clear();
  const ModelConfig& model = config_.model;
  const int k = model.top_k;
  const int64_t tokens = config_.rank_tokens[comm_.rank()];
  auto made = std::make_unique<RoutingGroup>();
  RoutingGroup& g = *made;
  g.layer = cell.layer;
  g.routing = cell.routing;
  g.top_t = cell.top_t;

  // The trace data the group routes with, whatever its routing: a trace workload never routes
  // without it (collective, as the group is).
  routing_.check_data(cell.layer, cell.routing, cell.top_t);
  g.gate = routing_.gate(cell.layer, cell.routing, cell.top_t, &g.c2r_list_source);
  g.batch = routing_.batch(cell.layer, cell.routing, cell.top_t);

  std::vector<float> logits(tokens * model.experts);
  g.expert_ids.resize(tokens * k);
  g.weights.resize(tokens * k);
  std::vector<float> shared_scale(g.batch.w_shared_gate.empty() ? 0 : tokens);
  run_gate(g.batch, model, g.gate, logits.data(), g.expert_ids.data(), g.weights.data(),
           shared_scale);

  // Collective: decided alike on every rank, whatever its tokens. The pair trace's pairs, or a
  // user trace's k experts, in order.
  if (routing_.designed_routing()) {
    const int64_t matched = count_trace_matches(g.batch, g.expert_ids, k);
    g.trace_match = static_cast<double>(comm_.allreduce_sum(matched)) / config_.total_tokens();
  }
  g.coactivation = coactivation_counts(g.expert_ids, k, model.experts);
  comm_.allreduce_sum(g.coactivation.counts);
  g.tokens_per_expert.assign(model.experts, 0);
  for (int32_t e : g.expert_ids) ++g.tokens_per_expert[e];
  comm_.allreduce_sum(g.tokens_per_expert);
  return *groups_.emplace(key, std::move(made)).first->second;
}

void LayerSuite::add_placement(const std::string& name, int layer, const Placement& placement) {
  added_placements_.insert_or_assign({name, layer}, placement);
}

Placement LayerSuite::make_placement(const std::string& name, int layer, const RoutingGroup& group,
                                     CollabSearch* search) {
  const int experts = config_.model.experts;
  auto added = added_placements_.find({name, layer});
  if (added != added_placements_.end()) return added->second;
  if (name == "contiguous") return contiguous_placement(experts, comm_.size());
  if (name == "round-robin") return round_robin_placement(experts, comm_.size());
  if (name == "collab") return collab_placement(group.coactivation, comm_.size(), search);
  if (name == "eplb") {
    // From the cell's own loads: every rank's pairs per expert of this layer's routing.
    const std::vector<double> loads(group.tokens_per_expert.begin(), group.tokens_per_expert.end());
    return eplb_placement(loads, eplb_shape_);
  }
  return data_.placement_file(name).for_layer(layer, experts, comm_.size(), config_.model.preset);
}

std::vector<bool> LayerSuite::expected_kept(const std::vector<int32_t>& ids, const Cell& cell,
                                            const Placement& placement) const {
  const ModelConfig& model = config_.model;
  const int k = model.top_k;
  std::vector<bool> kept(ids.size(), true);
  if (!cell.strategy->rules.capacity_limited()) return kept;
  // The capacity holds per (source rank, expert slot): a replicated placement's pairs are counted
  // at the slots they are routed to.
  std::vector<int32_t> slot_ids = ids;  // [T_r x k]
  if (placement.replicated()) {
    placement.route_to_slots(ids.data(), static_cast<int64_t>(slot_ids.size()), comm_.rank(),
                             slot_ids.data());
  }
  const int slots = placement.replicated() ? placement.slots() : model.experts;
  const int64_t tokens = static_cast<int64_t>(kept.size()) / k;
  for (int c = 0; c < cell.overlap; ++c) {
    const TokenChunk chunk = token_chunk(tokens, cell.overlap, c);
    // Every rank sizes chunk c's slots from the largest rank's chunk c (config_.tokens_per_rank).
    const int64_t largest = token_chunk(config_.tokens_per_rank, cell.overlap, c).count;
    const int64_t capacity =
        padded_capacity(config_.capacity_factor, largest > 0 ? largest : chunk.count, k, slots);
    std::vector<int64_t> taken(slots, 0);  // [slots] the chunk's pairs placed so far
    for (int64_t p = chunk.first * k; p < (chunk.first + chunk.count) * k; ++p) {
      kept[p] = taken[slot_ids[p]]++ < capacity;
    }
  }
  return kept;
}

const Reference& LayerSuite::reference(RoutingGroup& group, const std::vector<int32_t>& ids,
                                       const std::vector<float>& weights,
                                       const std::vector<bool>& kept, PayloadType dtype) {
  const bool own_routing = &ids == &group.expert_ids;
  for (const Reference& r : group.references) {
    if (r.kept == kept && r.dtype == dtype &&
        (own_routing ? r.backend_ids.empty() : r.backend_ids == ids))
      return r;
  }
  // y_t = sum over kept chosen experts e of w_te * FFN_e(x_t) (+ the shared expert), computed per
  // expert on this rank's own tokens: no exchange, no placement, no strategy code involved.
  const ModelConfig& model = config_.model;
  const int k = model.top_k;
  const int hidden = model.hidden;
  const TokenBatch& batch = group.batch;
  std::vector<float> y(batch.tokens * hidden, 0.0f);
  std::vector<double> returned_norm(batch.tokens, 0.0);
  std::vector<float> scratch(ffn_scratch_floats(std::max(model.ffn, model.shared_ffn)));
  std::vector<int64_t> rows;
  std::vector<float> x_rows, out_rows;
  for (int e = 0; e < model.experts; ++e) {
    rows.clear();
    for (int64_t p = 0; p < batch.tokens * k; ++p) {
      if (ids[p] == e && kept[p]) rows.push_back(p);
    }
    if (rows.empty()) continue;
    x_rows.resize(rows.size() * hidden);
    out_rows.resize(rows.size() * hidden);
    for (size_t i = 0; i < rows.size(); ++i) {
      std::copy_n(&batch.x[(rows[i] / k) * hidden], hidden, &x_rows[i * hidden]);
    }
    round_trip_rows(RowFormat{dtype, hidden, 0}, x_rows.data(), static_cast<int64_t>(rows.size()));
    swiglu_ffn(
        experts_.get(e),
        RowBlock{x_rows.data(), hidden, out_rows.data(), hidden, static_cast<int64_t>(rows.size())},
        scratch.data());
    for (size_t i = 0; i < rows.size(); ++i) {
      const float w = weights[rows[i]];
      float* out = &y[(rows[i] / k) * hidden];
      double norm = 0.0;
      for (int h = 0; h < hidden; ++h) {
        out[h] += w * out_rows[i * hidden + h];
        norm += static_cast<double>(out_rows[i * hidden + h]) * out_rows[i * hidden + h];
      }
      returned_norm[rows[i] / k] += std::abs(w) * std::sqrt(norm);
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
  group.references.push_back(Reference{own_routing ? std::vector<int32_t>() : ids, kept, dtype,
                                       std::move(y), std::move(returned_norm)});
  return group.references.back();
}

// One cell on the CPU: its placement, its layer (steps and buffers) and, once the layer has run,
// its ceilings' buffers.
class LayerSuite::CpuCellRun final : public CellRun {
 public:
  CpuCellRun(LayerSuite& suite, const Cell& cell)
      : suite_(suite),
        cell_(cell),
        group_(suite.group(cell)),
        placement_(suite.make_placement(cell.placement, cell.layer, group_, &search_)),
        layer_(setup(suite, cell, group_, placement_), suite.comm_) {}

  void layer(PhaseClock& clock) override { layer_.run(clock); }

  std::optional<CellCeilings> ceilings() override;

  CellResult result(const CellSamples& samples) override {
    CellMeasurement m;
    m.samples = &samples;
    m.shape = layer_.shape();
    m.flops_per_row = expert_weights().front()->flops_per_row();
    m.y = std::move(layer_.output());
    return suite_.cell_result(cell_, placement_, search_, m);
  }

 private:
  static CpuLayerSetup setup(LayerSuite& suite, const Cell& cell, const RoutingGroup& group,
                             const Placement& placement) {
    CpuLayerSetup s;
    s.model = &suite.config_.model;
    s.batch = &group.batch;
    s.gate = &group.gate;
    s.placement = &placement;
    s.strategy = cell.strategy;
    s.dtype = cell.dtype;
    for (int e : placement.local_experts(suite.comm_.rank())) {
      s.bank.local.push_back(&suite.experts_.get(e));
    }
    s.shared = suite.shared_expert();
    s.capacity_factor = suite.config_.capacity_factor;
    s.capacity_tokens = suite.config_.tokens_per_rank;
    s.overlap = cell.overlap;
    s.progress = suite.config_.overlap_progress;
    return s;
  }
  const std::vector<const FfnWeights*>& expert_weights() const { return layer_.bank().local; }

  LayerSuite& suite_;
  const Cell cell_;
  const RoutingGroup& group_;
  CollabSearch search_;  // filled for the collab placement
  const Placement placement_;
  CpuLayer layer_;
  // What the ceilings replay: the layer's exchanges, its chunks' rows summed (one exchange each
  // way).
  ExchangeShape ceiling_shape_;
  std::unique_ptr<RowType> dispatch_row_, combine_row_;  // the ceilings' MPI row types
  char written_ = 0;  // the value the send buffers were last written with
};

std::optional<CellCeilings> LayerSuite::CpuCellRun::ceilings() {
  if (!suite_.config_.ceilings) return std::nullopt;
  if (!suite_.flusher_) suite_.flusher_.emplace();
  CacheFlusher& flusher = *suite_.flusher_;
  const Communicator& comm = suite_.comm_;
  const ModelConfig& model = suite_.config_.model;
  const int hidden = model.hidden;
  const TokenBatch& batch = group_.batch;
  ceiling_shape_ = layer_.shape();
  const ExchangeShape& shape = ceiling_shape_;
  const FfnWeights* shared = suite_.shared_expert();
  const int64_t routed_rows = std::accumulate(shape.rows_per_local_expert.begin(),
                                              shape.rows_per_local_expert.end(), int64_t{0});
  // One set of buffers serves every cell's ceilings (one ceiling runs at a time): each prepare
  // grows them to its needs and writes what its run reads.
  CeilingBuffers& buffers = suite_.ceiling_buffers_;
  const size_t dense_floats = std::max<int64_t>(routed_rows, 1) * hidden;
  CellCeilings c;
  // Expert: the same FLOPs as dense GEMMs, the routed rows split evenly over this rank's experts
  // so that as many experts' weights stream through the caches as in the layer, on an activation
  // written just before (as the dispatch writes the rows the layer's experts read), after the
  // caches were flushed (the previous layer step's weights are gone).
  c[0].prepare = [this, &flusher, &batch, &buffers, &model, dense_floats, shared, hidden] {
    grow(buffers.dense_x, dense_floats);
    grow(buffers.dense_out, dense_floats);
    grow(buffers.scratch, ffn_scratch_floats(std::max(model.ffn, model.shared_ffn)));
    grow(buffers.shared_out, shared ? batch.tokens * hidden : 0);
    flusher.flush();
    ++written_;
    for (size_t i = 0; i < dense_floats; ++i) {
      buffers.dense_x[i] = batch.x.empty() ? 0.0f : batch.x[i % batch.x.size()] + 1e-3f * written_;
    }
  };
  c[0].run = [this, routed_rows, hidden, shared, &batch, &buffers] {
    const std::vector<const FfnWeights*>& experts = expert_weights();
    const int64_t count = static_cast<int64_t>(experts.size());
    int64_t first = 0;
    for (int64_t e = 0; e < count; ++e) {
      const int64_t rows =
          token_chunk(routed_rows, static_cast<int>(count), static_cast<int>(e)).count;
      if (rows > 0) {
        dense_ffn_gemms(*experts[e], &buffers.dense_x[first * hidden], rows, buffers.scratch.data(),
                        &buffers.dense_out[first * hidden]);
      }
      first += rows;
    }
    if (shared) {
      dense_ffn_gemms(*shared, batch.x.data(), batch.tokens, buffers.scratch.data(),
                      buffers.shared_out.data());
    }
  };
  // Dispatch / combine: the plain collective of the same rows, row size and layout
  // (MPI_Alltoallv; MPI_Alltoall for a fixed-size exchange), in the layer's cache state: the
  // caches flushed (the layer's expert GEMMs stream its weights through them, evicting the
  // receive buffers), then the send buffer written, as the layer's pack and expert steps write
  // theirs just before the exchange.
  const bool fixed_size = !cell_.strategy->rules.exchanges_counts();
  auto exchange = [&, fixed_size](const AlltoallvLayout& layout, int64_t row_bytes,
                                  std::unique_ptr<RowType>& row_type) {
    row_type = std::make_unique<RowType>(row_bytes);
    const RowType& row = *row_type;
    const size_t send_bytes = std::max<int64_t>(layout.total_send_rows(), 1) * row_bytes;
    const size_t recv_bytes = std::max<int64_t>(layout.total_recv_rows(), 1) * row_bytes;
    TimedBody body;
    body.prepare = [this, &flusher, &buffers, send_bytes, recv_bytes] {
      grow(buffers.send, send_bytes);
      grow(buffers.recv, recv_bytes);
      flusher.flush();
      std::memset(buffers.send.data(), ++written_, send_bytes);
    };
    body.run = [&comm, &layout, &buffers, &row, fixed_size] {
      if (fixed_size) {
        comm.alltoall_rows(buffers.send.data(), layout.send_rows.empty() ? 0 : layout.send_rows[0],
                           buffers.recv.data(), row);
      } else {
        comm.alltoallv_rows(buffers.send.data(), buffers.recv.data(), layout, row);
      }
    };
    return body;
  };
  c[1] = exchange(shape.dispatch, shape.dispatch_row_bytes, dispatch_row_);
  c[2] = exchange(shape.combine, shape.combine_row_bytes, combine_row_);
  return c;
}

std::unique_ptr<CellRun> LayerSuite::start_cell(const Cell& cell) {
  return std::make_unique<CpuCellRun>(*this, cell);
}

}  // namespace c2r
