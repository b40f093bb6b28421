#include "bench/cpu_layer.hpp"

#include <algorithm>

#include "bench/routing_source.hpp"

namespace c2r {

CpuLayer::CpuLayer(const CpuLayerSetup& setup, const Communicator& comm)
    : setup_(setup), comm_(comm), strategy_(setup.strategy->make_cpu()) {
  const ModelConfig& model = *setup.model;
  const int64_t tokens = setup.batch->tokens;
  const int hidden = model.hidden;
  logits_.resize(tokens * model.experts);
  expert_ids_.resize(tokens * model.top_k);
  weights_.resize(tokens * model.top_k);
  shared_scale_.resize(setup.shared ? tokens : 0);
  shared_out_.resize(setup.shared ? tokens * hidden : 0);
  y_.resize(tokens * hidden);
  scratch_.resize(ffn_scratch_floats(std::max(model.ffn, model.shared_ffn)));

  in_.tokens = tokens;
  in_.hidden = hidden;
  in_.top_k = model.top_k;
  in_.x = setup.batch->x.data();
  in_.expert_ids = expert_ids_.data();
  in_.weights = weights_.data();
  in_.placement = setup.placement;
  in_.dtype = setup.dtype;
  in_.capacity_factor = setup.capacity_factor;
  in_.capacity_tokens = setup.capacity_tokens;
}

void CpuLayer::gate() {
  run_gate(*setup_.batch, *setup_.model, *setup_.gate, logits_.data(), expert_ids_.data(),
           weights_.data(), shared_scale_);
}

void CpuLayer::compute_experts() {
  strategy_->compute_experts(setup_.bank, scratch_.data());
  if (setup_.shared) {
    const int hidden = setup_.model->hidden;
    swiglu_ffn(*setup_.shared, RowBlock{in_.x, hidden, shared_out_.data(), hidden, in_.tokens},
               scratch_.data());
  }
}

void CpuLayer::unpack() {
  strategy_->unpack(in_, y_.data());
  if (setup_.shared) {
    const int hidden = setup_.model->hidden;
    for (int64_t t = 0; t < in_.tokens; ++t) {
      for (int h = 0; h < hidden; ++h) {
        y_[t * hidden + h] += shared_scale_[t] * shared_out_[t * hidden + h];
      }
    }
  }
}

}  // namespace c2r
