#!/usr/bin/env bash
# Runs a GPU test command (a run_check.sh line with --backend cuda): where it fails only because
# this machine has no CUDA device it is skipped (exit 77, ctest's SKIP_RETURN_CODE), unless the
# environment demands a GPU (C2R_REQUIRE_GPU=1, as scripts/gpu_check.sh sets), where that is a
# failure. Any other failure fails.
# Usage: run_gpu_or_skip.sh COMMAND [ARGS...]
set -uo pipefail
log="$(mktemp)"
trap 'rm -f "$log"' EXIT
"$@" > "$log" 2>&1
status=$?
cat "$log"
[ "$status" -eq 0 ] && exit 0
if grep -q "needs a CUDA device on every rank (none is visible)" "$log"; then
  if [ "${C2R_REQUIRE_GPU:-0}" = 1 ]; then
    echo "FAIL: C2R_REQUIRE_GPU=1 but a rank has no CUDA device"
    exit 1
  fi
  echo "SKIPPED: no CUDA device on this machine"
  exit 77
fi
exit "$status"
