#include "bench/cuda/cuda_layer_suite.hpp"

#include "bench/harness.hpp"
#include "bench/layer_steps.hpp"
#include "common/error.hpp"
#include "kernels/cuda/gating.hpp"

namespace c2r {

using nlohmann::json;

// One cell on the device: its inputs (uploaded before timing), the gate and the shared expert,
// and the strategy's device steps for the exchange.
class CudaLayerSuite::Layer final : public LayerSteps {
 public:
  Layer(const DeviceTools& tools, const StrategyDescriptor& strategy)
      : blas_(tools.blas),
        transport_(tools.transport),
        exchange_(device_exchange_factory(strategy)(tools)) {}

  void gate() override {
    cuda::router_logits(blas_, in.x, in.tokens, in.hidden, router.data(), in.experts,
                        logits.data());
    cuda::select_experts(logits.data(), in.tokens, gate_spec, ids.data(), weights.data());
    if (shared) {
      cuda::shared_expert_gate(blas_, in.x, in.tokens, in.hidden, shared_gate.data(),
                               shared_scale.data());
    }
  }
  void pack() override { exchange_->pack(in); }
  void dispatch() override { layout_ = &exchange_->dispatch(in); }
  void regroup() override { exchange_->regroup(in); }
  // The routed experts, then every token through the shared expert.
  void compute_experts() override {
    exchange_->compute_experts(in);
    if (shared) {
      cuda::grouped_swiglu_ffn(blas_, {shared}, {0, in.tokens}, in.x, shared_out.data(),
                               shared_scratch.data());
    }
  }
  void reduce() override { exchange_->reduce(in); }
  void combine() override { exchange_->combine(*layout_); }
  // The routed experts' sum per token, then y += gate * shared output.
  void unpack() override {
    exchange_->unpack(in, y.data());
    if (shared) {
      cuda::add_scaled_rows(y.data(), shared_scale.data(), shared_out.data(), in.tokens, in.hidden);
    }
  }
  // The transport waits (NCCL polls for a failed peer instead of hanging).
  void wait() override { transport_.wait(); }

  DeviceExchange& exchange() { return *exchange_; }

  DeviceLayerInputs in;              // points into the buffers below
  cuda::DeviceBuffer<float> x;       // [T x H]
  cuda::DeviceBuffer<float> router;  // [H x E]
  cuda::DeviceGateSpec gate_spec;
  cuda::DeviceBuffer<int32_t> rank_of_expert, local_of_expert, slot_of_expert;  // [E]
  cuda::DeviceBuffer<float> logits, weights;                                    // [T x E], [T x k]
  cuda::DeviceBuffer<int32_t> ids;                                              // [T x k]
  cuda::DeviceBuffer<float> y;                                                  // [T x H]
  // The shared expert (Qwen), when the model has one: its weights, sigmoid gate [H], gate values
  // [T], output [T x H] and scratch.
  const cuda::DeviceFfnWeights* shared = nullptr;
  cuda::DeviceBuffer<float> shared_gate, shared_scale, shared_out, shared_scratch;

 private:
  const cuda::Blas& blas_;
  const cuda::DeviceTransport& transport_;
  std::unique_ptr<DeviceExchange> exchange_;
  const ExchangeLayout* layout_ = nullptr;  // what dispatch() produced, for combine()
};

CudaLayerSuite::CudaLayerSuite(const RunConfig& config, const Communicator& comm, LayerSuite& suite,
                               const std::string& exchange)
    : config_(config),
      comm_(comm),
      suite_(suite),
      transport_(cuda::make_device_transport(exchange, comm)) {
  for (const Cell& cell : config.cells) device_exchange_factory(*cell.strategy);
}

const cuda::DeviceFfnWeights& CudaLayerSuite::expert(int e) {
  auto it = experts_.find(e);
  if (it == experts_.end()) {
    it = experts_.emplace(e, cuda::upload_ffn_weights(suite_.expert_weights(e))).first;
  }
  return it->second;
}

void CudaLayerSuite::upload(const Cell& cell, const Placement& placement, Layer& layer) {
  C2R_CHECK(!placement.replicated(),
            "placement " << cell.placement << " replicates experts, which the cuda backend does "
                         << "not route (run it on the cpu backend)");
  const RoutingGroup& group = suite_.prepare(cell);
  const ModelConfig& model = config_.model;
  DeviceLayerInputs& in = layer.in;
  in.k = model.top_k;
  in.hidden = model.hidden;
  in.experts = model.experts;
  in.ffn = model.ffn;
  in.ranks = comm_.size();
  in.local = placement.experts_per_rank();
  in.tokens = config_.rank_tokens[comm_.rank()];
  in.pairs = in.tokens * in.k;
  // From the largest rank's tokens: every rank exchanges blocks of the same size.
  in.capacity = padded_capacity(config_.capacity_factor, config_.tokens_per_rank, in.k, in.experts);
  layer.x = cuda::DeviceBuffer<float>(group.batch.x);
  layer.router = cuda::DeviceBuffer<float>(group.batch.w_router);
  layer.gate_spec = cuda::make_device_gate(group.gate);
  std::vector<int32_t> rank_of(in.experts), local_of(in.experts), slot_of(in.experts);
  for (int e = 0; e < in.experts; ++e) {
    rank_of[e] = placement.rank_of(e);
    local_of[e] = placement.local_index(e);
    slot_of[e] = rank_of[e] * in.local + local_of[e];  // send order of per-pair strategies
  }
  layer.rank_of_expert = cuda::DeviceBuffer<int32_t>(rank_of);
  layer.local_of_expert = cuda::DeviceBuffer<int32_t>(local_of);
  layer.slot_of_expert = cuda::DeviceBuffer<int32_t>(slot_of);
  for (int e : placement.local_experts(comm_.rank())) in.bank.push_back(&expert(e));
  layer.logits = cuda::DeviceBuffer<float>(in.tokens * in.experts);
  layer.weights = cuda::DeviceBuffer<float>(in.pairs);
  layer.ids = cuda::DeviceBuffer<int32_t>(in.pairs);
  layer.y = cuda::DeviceBuffer<float>(in.tokens * in.hidden);
  if (const FfnWeights* shared = suite_.shared_expert()) {
    if (!shared_) shared_ = cuda::upload_ffn_weights(*shared);
    layer.shared = &*shared_;
    layer.shared_gate = cuda::DeviceBuffer<float>(group.batch.w_shared_gate);
    layer.shared_scale = cuda::DeviceBuffer<float>(in.tokens);
    layer.shared_out = cuda::DeviceBuffer<float>(in.tokens * in.hidden);
    layer.shared_scratch =
        cuda::DeviceBuffer<float>(cuda::ffn_scratch_floats(in.tokens, shared->ffn));
  }
  in.x = layer.x.data();
  in.ids = layer.ids.data();
  in.weights = layer.weights.data();
  in.rank_of_expert = layer.rank_of_expert.data();
  in.local_of_expert = layer.local_of_expert.data();
  in.slot_of_expert = layer.slot_of_expert.data();
}

// One cell on the device: its placement, its layer, and its ceilings once the layer has run.
class CudaLayerSuite::DeviceCellRun final : public CellRun {
 public:
  DeviceCellRun(CudaLayerSuite& suite, const Cell& cell)
      : suite_(suite),
        cell_(cell),
        placement_(suite.suite_.placement_for(cell, &search_)),
        layer_(DeviceTools{suite.blas_, suite.sorter_, *suite.transport_}, *cell.strategy) {
    suite.upload(cell, placement_, layer_);
  }

  void layer(PhaseClock& clock) override { run_layer(layer_, suite_.comm_, clock); }

  std::optional<CellCeilings> ceilings() override;

  CellResult result(const CellSamples& samples) override {
    CellMeasurement m;
    m.samples = &samples;
    m.shape = layer_.exchange().shape();
    for (bool kept : layer_.exchange().kept(layer_.in)) m.shape.pairs_dropped += !kept;
    m.flops_per_row = 6.0 * layer_.in.hidden * layer_.in.ffn;
    m.y = layer_.y.download();
    // The device gate's own routing, for --check (LayerSuite::cell_result).
    m.own_gate = true;
    m.routed_ids = layer_.ids.download();
    m.routed_weights = layer_.weights.download();
    return suite_.suite_.cell_result(cell_, placement_, search_, m);
  }

 private:
  CudaLayerSuite& suite_;
  const Cell cell_;
  CollabSearch search_;  // filled for the collab placement
  const Placement placement_;
  Layer layer_;
  cuda::DeviceBuffer<float> ceiling_out_, ceiling_scratch_;  // [routed rows x H]; FFN scratch
};

std::optional<CellCeilings> CudaLayerSuite::DeviceCellRun::ceilings() {
  if (!suite_.config_.ceilings) return std::nullopt;
  const DeviceLayerInputs& in = layer_.in;
  const DeviceCeilingBuffers rows = layer_.exchange().ceiling_buffers();
  const ExchangeShape& shape = layer_.exchange().shape();
  ceiling_out_ = cuda::DeviceBuffer<float>(std::max<int64_t>(1, rows.routed_rows) * in.hidden);
  ceiling_scratch_ = cuda::DeviceBuffer<float>(
      cuda::ffn_scratch_floats(std::max<int64_t>(1, rows.routed_rows), in.ffn));
  CellCeilings c;
  // Expert: the routed rows' FLOPs as dense GEMM pairs, split evenly over this rank's experts so
  // that as many experts' weights stream as in the layer.
  c[0].run = [this, rows] {
    const DeviceLayerInputs& in = layer_.in;
    const int64_t count = static_cast<int64_t>(in.bank.size());
    int64_t first = 0;
    for (int64_t e = 0; e < count; ++e) {
      const int64_t n =
          token_chunk(rows.routed_rows, static_cast<int>(count), static_cast<int>(e)).count;
      if (n > 0) {
        cuda::dense_ffn_gemms(suite_.blas_, *in.bank[e], rows.routed + first * in.hidden, n, false,
                              ceiling_out_.data() + first * in.hidden, ceiling_scratch_.data());
      }
      first += n;
    }
    if (layer_.shared) {
      cuda::dense_ffn_gemms(suite_.blas_, *layer_.shared, in.x, in.tokens, false,
                            layer_.shared_out.data(), layer_.shared_scratch.data());
    }
    cuda::synchronize();
  };
  c[1].run = [this, rows, &shape] {
    suite_.transport_->alltoallv_rows(rows.dispatch_send, rows.dispatch_recv, shape.dispatch,
                                      shape.dispatch_row_bytes);
    suite_.transport_->wait();
  };
  c[2].run = [this, rows, &shape] {
    suite_.transport_->alltoallv_rows(rows.combine_send, rows.combine_recv, shape.combine,
                                      shape.combine_row_bytes);
    suite_.transport_->wait();
  };
  return c;
}

std::unique_ptr<CellRun> CudaLayerSuite::start_cell(const Cell& cell) {
  return std::make_unique<DeviceCellRun>(*this, cell);
}

}  // namespace c2r
