#!/usr/bin/env bash
# `c2rbench compare` end to end: a report against itself (exit 0, with the one-run warning),
# against a copy whose layer samples are 50% slower with --threshold 5% (exit 1, a regression),
# the same with sides of repeated runs given as comma-separated lists (runs counted per row), and
# a file of another schema or a missing file in a list (one error, exit 2).
# Usage: run_compare.sh C2RBENCH
set -uo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
bin="$1"
dir="$(mktemp -d)"
timeout 120 "$here/../../scripts/mpirun.sh" --oversubscribe --bind-to none 2 "$bin" run --hidden 64 --ffn 48 --tokens 64 \
  --iters 10 --routing vanilla --strategy dropless,dedup --placement contiguous --quiet \
  --out "$dir/a.json" >/dev/null || { echo "FAIL: run"; exit 1; }
python3 - "$dir" <<'PY'
import json, sys
d = sys.argv[1]
r = json.load(open(f"{d}/a.json"))
# The measured layer samples are replaced by fixed ones (a loaded machine can spread 10 samples
# wider than 1.5x, which would make the verdict depend on the noise): base.json has 100..109 us,
# slow.json the same times 1.5.
for name, scale in (("base", 1.0), ("slow", 1.5)):
    for cell in r["results"]:
        p = cell["phases"]["layer"]
        p["samples_us"] = [(100.0 + i) * scale for i in range(len(p["samples_us"]))]
        p["median_us"] = sorted(p["samples_us"])[len(p["samples_us"]) // 2]
    json.dump(r, open(f"{d}/{name}.json", "w"))
json.dump({"schema": "something.else", "schema_version": 1}, open(f"{d}/other.json", "w"))
PY
"$bin" compare "$dir/a.json" "$dir/a.json" --threshold 5% > "$dir/same.txt" \
  || { cat "$dir/same.txt"; echo "FAIL: a report against itself"; exit 1; }
"$bin" compare "$dir/base.json" "$dir/slow.json" --threshold 5% --phase layer > "$dir/slow.txt"
status=$?
cat "$dir/slow.txt"
[ "$status" -eq 1 ] || { echo "FAIL: expected exit 1 on a regression, got $status"; exit 1; }
grep -q "2 significant regression(s) beyond 5.0%" "$dir/slow.txt" || { echo "FAIL: count"; exit 1; }
grep -q "warning: .* are one run each" "$dir/same.txt" \
  || { cat "$dir/same.txt"; echo "FAIL: no warning about single runs"; exit 1; }
"$bin" compare "$dir/base.json,$dir/base.json,$dir/base.json" "$dir/slow.json,$dir/slow.json" \
  --threshold 5% --phase layer --format json > "$dir/runs.json"
status=$?
[ "$status" -eq 1 ] || { cat "$dir/runs.json"; echo "FAIL: runs: expected exit 1, got $status"; exit 1; }
python3 - "$dir/runs.json" <<'PY' || { cat "$dir/runs.json"; echo "FAIL: runs"; exit 1; }
import json, sys
c = json.load(open(sys.argv[1]))
assert c["regressions"] == 2, c["regressions"]
assert len(c["rows"]) == 2 and all(r["runs"] == [3, 2] for r in c["rows"]), c["rows"]
assert all(r["verdict"] == "regression" for r in c["rows"]), c["rows"]
assert len(c["sides"][0]["reports"]) == 3 and not c["warnings"], c
PY
"$bin" compare "$dir/a.json,$dir/missing.json" "$dir/a.json" 2> "$dir/err.txt" >/dev/null
status=$?
[ "$status" -eq 2 ] && [ "$(wc -l < "$dir/err.txt")" -eq 1 ] \
  && grep -q "c2rbench: error: .*missing.json" "$dir/err.txt" \
  || { cat "$dir/err.txt"; echo "FAIL: a missing run: expected one error, exit 2 (got $status)"; exit 1; }
"$bin" compare "$dir/a.json" "$dir/other.json" 2> "$dir/err.txt" >/dev/null
status=$?
[ "$status" -eq 2 ] && grep -q "c2rbench: error: .*other.json" "$dir/err.txt" \
  || { cat "$dir/err.txt"; echo "FAIL: expected one error, exit 2 (got $status)"; exit 1; }
echo "ok: compare"
