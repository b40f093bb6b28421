#!/usr/bin/env bash
# Builds c2rbench with AddressSanitizer and UndefinedBehaviorSanitizer (g++, -O1 -g, CUDA and the
# Google Benchmark microbenchmarks off) into build-asan/ and runs the unit and MPI tests there
# (not the timing targets: the sanitizers slow the phases unevenly).
# Any sanitizer report (memory error, leak, undefined behaviour) aborts the process, which fails
# its test; ranks started by mpirun inherit the options below.
# Usage: scripts/sanitize.sh [extra ctest options...]
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
"$root/scripts/setup.sh"
build="$root/build-asan"

# Exported before the build too: gtest_discover_tests runs the instrumented unit-test binary.
# abort_on_error: a report ends the process with SIGABRT, which no test mistakes for the exit status
# of a refused input.
export ASAN_OPTIONS="halt_on_error=1:abort_on_error=1:detect_leaks=1:check_initialization_order=1:strict_string_checks=1"
export UBSAN_OPTIONS="halt_on_error=1:abort_on_error=1:print_stacktrace=1"
# Open MPI, hwloc and OpenBLAS keep memory until exit: suppressed by library (see the file).
export LSAN_OPTIONS="suppressions=$root/tests/sanitizers/lsan.supp:print_suppressions=0"

start=$(date +%s)
source "$root/scripts/compiler_cache.sh"
cmake -S "$root" -B "$build" -DCMAKE_CXX_COMPILER=g++ -DCMAKE_BUILD_TYPE=RelWithDebInfo "${compiler_cache[@]}" \
  -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -g" -DC2R_SANITIZE=ON -DC2R_WITH_CUDA=OFF \
  -DC2R_BUILD_MICROBENCH=OFF >/dev/null
cmake --build "$build" -j"$(nproc)"
built=$(date +%s)
cd "$build"
ctest --output-on-failure -j"$(nproc)" -L "unit|mpi" -LE timing "$@"
echo "sanitize: build $((built - start)) s, tests $(($(date +%s) - built)) s"
