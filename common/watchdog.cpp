#include "common/watchdog.hpp"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>

namespace c2r {

namespace {

using Clock = std::chrono::steady_clock;

std::atomic<int64_t> last_progress_ns{0};  // Clock ticks of the last mark, as nanoseconds
std::atomic<const char*> last_step{"start-up"};
std::mutex activity_mutex;
std::string activity = "start-up";

int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now().time_since_epoch())
      .count();
}

}  // namespace

void mark_progress(const char* step) {
  last_progress_ns.store(now_ns(), std::memory_order_relaxed);
  if (step) last_step.store(step, std::memory_order_relaxed);
}

void set_activity(const std::string& what) {
  std::lock_guard<std::mutex> lock(activity_mutex);
  activity = what;
}

Watchdog::Watchdog(double timeout_seconds, int rank, std::string limit_name, std::string cause)
    : timeout_(timeout_seconds),
      rank_(rank),
      limit_name_(std::move(limit_name)),
      cause_(std::move(cause)) {
  if (timeout_ <= 0.0) return;
  mark_progress(nullptr);
  thread_ = std::thread([this] { watch(); });
}

Watchdog::~Watchdog() {
  if (!thread_.joinable()) return;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stop_ = true;
  }
  wake_.notify_all();
  thread_.join();
}

void Watchdog::watch() {
  // Check a few times per timeout (at most once a second), so the stop comes within 1.25 timeouts.
  const auto period = std::chrono::duration<double>(std::min(1.0, timeout_ / 4.0));
  std::unique_lock<std::mutex> lock(mutex_);
  while (!wake_.wait_for(lock, period, [this] { return stop_; })) {
    const double idle = (now_ns() - last_progress_ns.load(std::memory_order_relaxed)) * 1e-9;
    if (idle < timeout_) continue;
    std::string doing;
    {
      std::lock_guard<std::mutex> activity_lock(activity_mutex);
      doing = activity;
    }
    // One line, flushed, then out: MPI may not be called from this thread, and the main thread is
    // blocked, so nothing else can be written (no report).
    std::fprintf(stderr,
                 "c2rbench: error on rank %d: no progress for %.1f s (%s %g): %s; this rank "
                 "last completed %s, during %s; stopping with exit status %d and no report\n",
                 rank_, idle, limit_name_.c_str(), timeout_, cause_.c_str(),
                 last_step.load(std::memory_order_relaxed), doing.c_str(), kWatchdogExitCode);
    std::fflush(stderr);
    std::_Exit(kWatchdogExitCode);
  }
}

}  // namespace c2r
