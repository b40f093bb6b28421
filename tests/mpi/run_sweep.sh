#!/usr/bin/env bash
# Sweeps: `run --sweep tokens=...` into one report (every cell once per size, each with its own
# baseline, checked), compared with itself, and plotted; a sweep over rank counts through
# scripts/sweep_ranks.sh plotted against the rank count; a malformed sweep refused.
# Usage: run_sweep.sh C2RBENCH
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
bin="$1"
dir="$(mktemp -d)"
small=(--hidden 64 --ffn 48 --routing vanilla --strategy dropless,dedup --placement contiguous
       --iters 2 --warmup 1)
timeout 120 "$here/../../scripts/mpirun.sh" 2 "$bin" run "${small[@]}" --sweep tokens=16,32,64 \
  --check --quiet --out "$dir/tokens.json" >/dev/null
"$bin" compare "$dir/tokens.json" "$dir/tokens.json" --phase layer >/dev/null
"$bin" report "$dir/tokens.json" --html "$dir/tokens.html" >/dev/null
C2RBENCH="$bin" timeout 200 "$here/../../scripts/sweep_ranks.sh" "1 2" "$dir/ranks" "${small[@]}" \
  --tokens 32 >/dev/null 2>&1
python3 - "$dir" <<'PY'
import json, re, sys
d = sys.argv[1]
r = json.load(open(f"{d}/tokens.json"))
assert r["config"]["sweep"] == {"tokens_per_rank": [16, 32, 64]}, r["config"].get("sweep")
cells = r["results"]
assert [c["tokens_per_rank"] for c in cells] == [16, 16, 32, 32, 64, 64], cells
assert all(c["check"]["wrong_rows"] == 0 for c in cells)
assert [c["speedup_vs_baseline"] for c in cells if c["baseline"]] == [1.0, 1.0, 1.0]
page = open(f"{d}/tokens.html").read()
assert "Layer time vs tokens per rank" in page
assert page.count('class="sweep-line"') == 2 and page.count('class="sweep-point"') == 6
merged = json.load(open(f"{d}/ranks/sweep.json"))
assert merged["config"]["sweep"] == {"ranks": [1, 2]} and len(merged["contexts"]) == 2
assert [c["ranks"] for c in merged["results"]] == [1, 1, 2, 2], merged["results"]
ranks = open(f"{d}/ranks/sweep.html").read()
assert "Layer time vs ranks" in ranks and ranks.count('class="sweep-line"') == 2, ranks.count('sweep-line')
print("ok: sweeps over tokens and ranks")
PY
if "$here/../../scripts/mpirun.sh" 2 "$bin" run --sweep tokens=8,x --out "$dir/bad.json" \
    2> "$dir/err.txt" >/dev/null; then
  echo "FAIL: a malformed sweep was accepted"; exit 1
fi
grep -q "c2rbench: error: --sweep: 'x' is not a positive token count" "$dir/err.txt"
if grep -E "^SUMMARY: [A-Za-z]+Sanitizer" "$dir/err.txt"; then echo "FAIL: sanitizer report"; exit 1; fi
[ ! -e "$dir/bad.json" ]
echo "ok: malformed sweep refused"
