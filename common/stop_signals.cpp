#include "common/stop_signals.hpp"

#include <pthread.h>
#include <unistd.h>

#include <atomic>
#include <cstring>

namespace c2r {

namespace {

constexpr int kSlots = 16;
constexpr size_t kPathBytes = 4096;

// The registry the handler reads (async-signal-safe: no allocation, no locks). A slot is claimed,
// then its path written, then it is marked ready; the handler, on whichever thread it runs, reads
// only ready slots.
enum SlotState : int { kFree = 0, kClaimed = 1, kReady = 2 };
char temporary_paths[kSlots][kPathBytes];
std::atomic<int> slot_state[kSlots];
int stop_rank = 0;
volatile sig_atomic_t finishing_status = -1;  // >= 0: the outcome is decided (finishing_with)

const int kStopSignals[] = {SIGINT, SIGTERM, SIGHUP};

void write_stderr(const char* text) {
  (void)!write(STDERR_FILENO, text, std::strlen(text));
}

extern "C" void on_stop_signal(int signal) {
  for (int s = 0; s < kSlots; ++s) {
    if (slot_state[s].load() == kReady) unlink(temporary_paths[s]);
  }
  if (finishing_status >= 0) _exit(finishing_status);
  if (stop_rank == 0) {
    const char* name = signal == SIGINT ? "SIGINT" : signal == SIGTERM ? "SIGTERM" : "SIGHUP";
    // 128 + signal: at most 3 digits.
    char status[4] = {0};
    int code = kSignalExitBase + signal;
    for (int i = 2; i >= 0; --i, code /= 10) status[i] = static_cast<char>('0' + code % 10);
    write_stderr("c2rbench: error: stopped by ");
    write_stderr(name);
    write_stderr("; no report or output file written (exit status ");
    write_stderr(status);
    write_stderr(")\n");
  }
  _exit(kSignalExitBase + signal);
}

sigset_t stop_signal_set() {
  sigset_t set;
  sigemptyset(&set);
  for (int signal : kStopSignals) sigaddset(&set, signal);
  return set;
}

}  // namespace

void finishing_with(int status) {
  finishing_status = status;
}

void install_stop_handlers(int rank) {
  stop_rank = rank;
  struct sigaction action = {};
  action.sa_handler = on_stop_signal;
  action.sa_mask = stop_signal_set();  // one handler at a time
  for (int signal : kStopSignals) sigaction(signal, &action, nullptr);
}

TemporaryFileGuard::TemporaryFileGuard(const std::string& path) {
  if (path.size() >= kPathBytes) return;
  for (int s = 0; s < kSlots; ++s) {
    int expected = kFree;
    if (!slot_state[s].compare_exchange_strong(expected, kClaimed)) continue;
    std::memcpy(temporary_paths[s], path.c_str(), path.size() + 1);
    slot_state[s].store(kReady);
    slot_ = s;
    return;
  }
}

TemporaryFileGuard::~TemporaryFileGuard() {
  if (slot_ >= 0) slot_state[slot_].store(kFree);
}

StopSignalsBlocked::StopSignalsBlocked() {
  const sigset_t set = stop_signal_set();
  pthread_sigmask(SIG_BLOCK, &set, &previous_);
}

StopSignalsBlocked::~StopSignalsBlocked() {
  pthread_sigmask(SIG_SETMASK, &previous_, nullptr);
}

}  // namespace c2r
