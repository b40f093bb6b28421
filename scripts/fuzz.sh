#!/usr/bin/env bash
# Builds the libFuzzer targets of the file readers (fuzz/, clang with AddressSanitizer and
# UndefinedBehaviorSanitizer, CUDA, tests and microbenchmarks off) into build-fuzz/ and runs each
# for a bounded time on a fresh copy of its seed corpus (fuzz/corpus/<target>/; the repository's
# corpus is never written). Prints executions and time per target; exits 1 if any target found a
# crash, a leak, undefined behaviour, an escaped exception, a hang or an out-of-memory, whose input
# is saved under build-fuzz/artifacts/<target>/ (docs/RELIABILITY.md: reproducing a finding).
# Usage: scripts/fuzz.sh [SECONDS_PER_TARGET (default 20)] [TARGET...]   (default: every target)
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
seconds="${1:-20}"
shift || true
"$root/scripts/setup.sh" clang libclang-rt-14-dev llvm-14
build="$root/build-fuzz"

# Largest input each target is given: its biggest seed with room to grow.
declare -A max_len=(
  [collaboration_matrix]=16384 [collaborative_list]=16384 [placement_file]=24576
  [cluster_profile]=4096 [cluster_spec]=4096 [report]=16384 [report_tuning]=24576
  [command_line]=1024 [routing_trace]=8192
)
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  targets=(collaboration_matrix collaborative_list placement_file cluster_profile cluster_spec report
           report_tuning routing_trace command_line)
fi

start=$(date +%s)
source "$root/scripts/compiler_cache.sh"
cmake -S "$root" -B "$build" -DCMAKE_CXX_COMPILER=clang++ "${compiler_cache[@]}" \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -g" \
  -DC2R_BUILD_FUZZERS=ON -DC2R_WITH_CUDA=OFF -DC2R_BUILD_TESTS=OFF -DC2R_BUILD_MICROBENCH=OFF \
  >/dev/null
cmake --build "$build" --target fuzzers -j"$(nproc)"
echo "fuzz: build $(($(date +%s) - start)) s"

symbolizer="$(command -v llvm-symbolizer-14 || command -v llvm-symbolizer || true)"
if [ -n "$symbolizer" ]; then export ASAN_SYMBOLIZER_PATH="$symbolizer"; fi
export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1"

# One target: a fresh copy of its seeds, a bounded run, "status" and "summary" files in its run dir.
run_target() {
  local target="$1" work="$build/run/$1" artifacts="$build/artifacts/$1"
  rm -rf "$work"
  mkdir -p "$work/corpus" "$artifacts"
  cp "$root/fuzz/corpus/$target/"* "$work/corpus/"
  local seeds t0 status=0
  seeds=$(ls "$work/corpus" | wc -l)
  t0=$(date +%s)
  # -timeout: one input taking 10 s is a hang; -rss_limit_mb / -malloc_limit_mb: a size field
  # that makes a reader allocate gigabytes is a finding, not a slow run.
  "$build/fuzz/fuzz_$target" "$work/corpus" -max_total_time="$seconds" -timeout=10 \
    -rss_limit_mb=2048 -malloc_limit_mb=1024 -max_len="${max_len[$target]}" \
    -dict="$root/fuzz/json.dict" -artifact_prefix="$artifacts/" -print_final_stats=1 \
    >"$work/log" 2>&1 || status=$?
  local runs
  runs=$(grep -o "stat::number_of_executed_units: *[0-9]*" "$work/log" | grep -o "[0-9]*$" || echo 0)
  printf '%-22s %10s execs %5s s  corpus %4s -> %4s' "$target" "$runs" "$(($(date +%s) - t0))" \
    "$seeds" "$(ls "$work/corpus" | wc -l)" >"$work/summary"
  if [ "$status" -ne 0 ]; then
    printf '  FAILED (exit %s): %s' "$status" "$(ls -t "$artifacts" | head -1)" >>"$work/summary"
  fi
  echo "$status" >"$work/status"
}

# As many targets at once as there are cores; each still gets its full time.
jobs=$(nproc)
for target in "${targets[@]}"; do
  [ -n "${max_len[$target]:-}" ] || { echo "fuzz: unknown target '$target'"; exit 2; }
done
for target in "${targets[@]}"; do
  while [ "$(jobs -rp | wc -l)" -ge "$jobs" ]; do wait -n || true; done
  echo "fuzz: $target for ${seconds} s"
  run_target "$target" &
done
wait
failed=()
echo "# fuzz results (${seconds} s per target, $jobs at a time; build-fuzz/run/<target>/log)"
for target in "${targets[@]}"; do
  cat "$build/run/$target/summary"
  echo
  if [ "$(cat "$build/run/$target/status")" -ne 0 ]; then
    failed+=("$target")
    tail -n 60 "$build/run/$target/log"
  fi
done
echo "fuzz: total $(($(date +%s) - start)) s"
if [ ${#failed[@]} -gt 0 ]; then
  echo "fuzz: findings in ${failed[*]}; reproduce: build-fuzz/fuzz/fuzz_<target> <artifact>"
  exit 1
fi
