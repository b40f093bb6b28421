#include "bench/layer_steps.hpp"

namespace c2r {

namespace {

struct StepPhase {
  void (LayerSteps::*step)();
  Phase phase;
  bool barrier_before;  // an exchange: wait for every rank first, charged to sync
};

// The one place the layer's step order and phase attribution are written.
constexpr StepPhase kLayer[] = {
    {&LayerSteps::gate, Phase::kGate, false},
    {&LayerSteps::pack, Phase::kPermute, false},
    {&LayerSteps::dispatch, Phase::kDispatch, true},
    {&LayerSteps::regroup, Phase::kPermute, false},
    {&LayerSteps::compute_experts, Phase::kExpert, false},
    {&LayerSteps::reduce, Phase::kUnpermute, false},
    {&LayerSteps::combine, Phase::kCombine, true},
    {&LayerSteps::unpack, Phase::kUnpermute, false},
};

}  // namespace

void run_layer(LayerSteps& steps, const Communicator& comm, PhaseClock& clock) {
  for (const StepPhase& s : kLayer) {
    if (s.barrier_before) {
      comm.barrier();
      clock.lap(Phase::kSync);
    }
    (steps.*s.step)();
    steps.wait();
    clock.lap(s.phase);
  }
}

}  // namespace c2r
