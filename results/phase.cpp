#include "results/phase.hpp"

namespace c2r {

const char* phase_name(Phase phase) {
  switch (phase) {
    case Phase::kGate:
      return "gate";
    case Phase::kPermute:
      return "permute";
    case Phase::kDispatch:
      return "dispatch";
    case Phase::kExpert:
      return "expert";
    case Phase::kCombine:
      return "combine";
    case Phase::kUnpermute:
      return "unpermute";
    case Phase::kSync:
      return "sync";
    case Phase::kLayer:
      return "layer";
  }
  return "?";
}

std::vector<std::string> reported_phase_names() {
  std::vector<std::string> names;
  for (Phase phase : kReportedPhases) names.push_back(phase_name(phase));
  return names;
}

std::optional<Phase> phase_from_name(const std::string& name) {
  for (int p = 0; p < kNumResultPhases; ++p) {
    if (name == phase_name(static_cast<Phase>(p))) return static_cast<Phase>(p);
  }
  return std::nullopt;
}

}  // namespace c2r
