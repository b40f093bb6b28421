#!/usr/bin/env bash
# Rank faults: one rank fails on purpose (`run --inject-fault`), and the job must stop within a
# bounded time with a non-zero exit, the injected fault and the watchdog's message on stderr, and
# no report written.
# Usage: run_fault.sh C2RBENCH NP FAULT EXPECTED_STATUS PATTERN
#   EXPECTED_STATUS: a number, or "nonzero"; PATTERN: an extended regex stderr must match.
set -uo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
bin="$1"; np="$2"; fault="$3"; expected="$4"; pattern="$5"
timeout_s=5
bound=$((timeout_s * 6))  # the watchdog stops a rank within 1.25 timeouts; the rest is start-up
dir="$(mktemp -d)"
start=$(date +%s)
timeout 120 "$here/../../scripts/mpirun.sh" --oversubscribe --bind-to none "$np" "$bin" run --experts 12 --workload random \
  --tokens 64 --hidden 64 --ffn 48 --iters 3 --warmup 1 --routing vanilla,c2r --top-t 3 \
  --strategy padded,dropless,dedup --placement contiguous --quiet --timeout "$timeout_s" \
  --inject-fault "$fault" --out "$dir/report.json" >"$dir/stdout" 2>"$dir/stderr"
status=$?
elapsed=$(($(date +%s) - start))
cat "$dir/stderr"
if [ "$status" -eq 124 ]; then echo "FAIL: hung (killed after 120 s)"; exit 1; fi
if [ "$status" -eq 0 ]; then echo "FAIL: exited 0 after an injected fault"; exit 1; fi
if [ "$expected" != nonzero ] && [ "$status" -ne "$expected" ]; then
  echo "FAIL: exit status $status, expected $expected"; exit 1
fi
if [ "$elapsed" -gt "$bound" ]; then echo "FAIL: took $elapsed s (bound $bound s)"; exit 1; fi
if ! grep -q "injected fault" "$dir/stderr"; then echo "FAIL: the fault was not injected"; exit 1; fi
if ! grep -Eq -- "$pattern" "$dir/stderr"; then echo "FAIL: stderr does not match /$pattern/"; exit 1; fi
if [ -e "$dir/report.json" ] || ls "$dir" | grep -q '\.tmp\.'; then
  echo "FAIL: a report was written"; exit 1
fi
if grep -q "# report:" "$dir/stdout"; then echo "FAIL: the run claimed a report"; exit 1; fi
echo "ok: $fault stopped $np ranks in $elapsed s with exit $status, no report"
