#include "suites/fault_injection.hpp"

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <thread>
#include <vector>

#include "common/error.hpp"

namespace c2r {

namespace {

FaultSpec armed;  // kind kNone unless this rank is the one to fail
int seen = 0;     // completed phases of armed.phase so far

std::vector<std::string> split(const std::string& text, char separator) {
  std::vector<std::string> parts;
  size_t start = 0;
  for (;;) {
    const size_t end = text.find(separator, start);
    parts.push_back(text.substr(start, end == std::string::npos ? std::string::npos : end - start));
    if (end == std::string::npos) return parts;
    start = end + 1;
  }
}

int parse_count(const std::string& text, const std::string& what, const std::string& whole) {
  size_t used = 0;
  int value = -1;
  try {
    value = std::stoi(text, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  C2R_CHECK(used == text.size() && value >= 0, "--inject-fault '"
                                                   << whole << "': " << what << " '" << text
                                                   << "' is not a number (0 or more)");
  return value;
}

}  // namespace

FaultSpec parse_fault(const std::string& text, int ranks) {
  const std::vector<std::string> parts = split(text, ':');
  C2R_CHECK(parts.size() >= 2 && parts.size() <= 4,
            "--inject-fault '" << text << "' is not KIND:RANK[:PHASE[:N]] (e.g. stall:1:dispatch)");
  FaultSpec fault;
  if (parts[0] == "exit") {
    fault.kind = FaultKind::kExit;
  } else if (parts[0] == "stall") {
    fault.kind = FaultKind::kStall;
  } else {
    throw Error("--inject-fault: unknown kind '" + parts[0] + "' (known: exit, stall)");
  }
  fault.rank = parse_count(parts[1], "rank", text);
  C2R_CHECK(fault.rank < ranks, "--inject-fault: rank "
                                    << fault.rank << " is not in the job (ranks 0.." << ranks - 1
                                    << ")");
  if (parts.size() >= 3) {
    bool known = false;
    for (int p = 0; p < kNumPhases; ++p) {
      const Phase phase = static_cast<Phase>(p);
      if (phase != Phase::kSync && parts[2] == phase_name(phase)) {
        fault.phase = phase;
        known = true;
      }
    }
    C2R_CHECK(known, "--inject-fault: unknown phase '"
                         << parts[2]
                         << "' (known: gate, permute, dispatch, expert, combine, "
                            "unpermute)");
  }
  if (parts.size() == 4) fault.occurrence = parse_count(parts[3], "occurrence", text);
  return fault;
}

void arm_fault(const FaultSpec& fault, int my_rank) {
  armed = fault.rank == my_rank ? fault : FaultSpec{};
  seen = 0;
}

void fault_after_phase(Phase phase) {
  if (armed.kind == FaultKind::kNone || phase != armed.phase || seen++ != armed.occurrence) return;
  std::fprintf(stderr, "c2rbench: rank %d: injected fault: %s after %s (occurrence %d)\n",
               armed.rank, armed.kind == FaultKind::kExit ? "exiting" : "stalling",
               phase_name(phase), armed.occurrence);
  std::fflush(stderr);
  if (armed.kind == FaultKind::kExit) std::_Exit(1);
  for (;;) std::this_thread::sleep_for(std::chrono::hours(1));
}

}  // namespace c2r
