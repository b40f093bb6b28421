#!/usr/bin/env bash
# Runs c2rbench under mpirun expecting bad input to be refused: non-zero exit within the timeout (no
# hang), exactly one "c2rbench: error" line matching PATTERN, and no report file left behind.
# Usage: expect_error.sh C2RBENCH NP PATTERN [c2rbench arguments...]
set -uo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
bin="$1"; np="$2"; pattern="$3"; shift 3
dir="$(mktemp -d)"
out="$dir/report.json"
args=("$@")
for i in "${!args[@]}"; do args[$i]="${args[$i]//@OUT@/$out}"; args[$i]="${args[$i]//@DIR@/$dir}"; done
# Tests that prepare input files get them from the setup hook.
if [ -n "${C2R_TEST_SETUP:-}" ]; then (cd "$dir" && eval "$C2R_TEST_SETUP"); fi
timeout 120 "$here/../../scripts/mpirun.sh" --oversubscribe --bind-to none "$np" "$bin" "${args[@]}" >"$dir/stdout" 2>"$dir/stderr"
status=$?
cat "$dir/stderr"
if [ "$status" -eq 124 ]; then echo "FAIL: timed out (hang)"; exit 1; fi
if [ "$status" -eq 0 ]; then echo "FAIL: exited 0"; exit 1; fi
# Sanitizer builds (scripts/sanitize.sh): a memory error or leak on the way out is a failure too.
if grep -Eq "^SUMMARY: [A-Za-z]+Sanitizer" "$dir/stderr"; then echo "FAIL: sanitizer report"; exit 1; fi
count=$(grep -c "c2rbench: error" "$dir/stderr" || true)
if [ "$count" -ne 1 ]; then echo "FAIL: expected one error message, got $count"; exit 1; fi
if ! grep -Eq -- "$pattern" "$dir/stderr"; then echo "FAIL: message does not match /$pattern/"; exit 1; fi
if [ -e "$out" ] || ls "$dir" | grep -q '\.tmp\.'; then echo "FAIL: a report was written"; exit 1; fi
echo "ok: refused with exit $status"
