#pragma once
// The phases of an MoE layer as the harness times them and the reports name them. The one ordered
// list of reported phases lives here: the run table, compare, the tuner's validation and
// tests/mpi/run_check.sh all take it from kReportedPhases.

#include <array>
#include <optional>
#include <string>
#include <vector>

namespace c2r {

// kSync is the wait in the barrier placed before each exchange: it absorbs the load imbalance of
// the phases before it, so that dispatch and combine time only the exchange itself. kLayer is the
// whole layer (PhaseClock::start() to the last lap): a result phase, never a lap.
enum class Phase { kGate, kPermute, kDispatch, kExpert, kCombine, kUnpermute, kSync, kLayer };
// The phases a PhaseClock laps: every phase before kLayer.
constexpr int kNumPhases = 7;
// The phases a result holds (the keys of a report cell's "phases"): the laps and kLayer.
constexpr int kNumResultPhases = kNumPhases + 1;

// The phases the per-phase tables report, in column order. kSync is timed and stored in the
// report, but is no column of its own.
constexpr std::array<Phase, 7> kReportedPhases = {
    Phase::kGate,    Phase::kPermute,   Phase::kDispatch, Phase::kExpert,
    Phase::kCombine, Phase::kUnpermute, Phase::kLayer};

// The names of kReportedPhases, in order (the default of `compare --phase`).
std::vector<std::string> reported_phase_names();

// "gate", "permute", ..., "sync", "layer": the name in reports and on the command line.
const char* phase_name(Phase phase);
// The phase named `name`, or none.
std::optional<Phase> phase_from_name(const std::string& name);

}  // namespace c2r
