#!/usr/bin/env bash
# Partial results survive: a run whose rank 1 fails part-way (`--inject-fault exit`) leaves
# FILE.partial holding the cells that finished, marked incomplete, which `report` and `compare`
# read with a warning; a run that finishes leaves its report and no partial file; and a partial
# file already there is refused, not replaced. Sequential order (cells finish one by one) and a
# token sweep (its passes finish one by one).
# Usage: run_partial.sh C2RBENCH
set -uo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
bin="$1"
dir="$(mktemp -d)"
cd "$dir"
grid=(--experts 8 --hidden 64 --ffn 48 --iters 2 --warmup 1 --routing vanilla,c2r --top-t 2
      --strategy dropless,dedup --placement contiguous,collab --quiet --timeout 5)
timeout 120 "$here/../../scripts/mpirun.sh" --oversubscribe --bind-to none 2 "$bin" run "${grid[@]}" --order sequential \
  --tokens 32 --inject-fault exit:1:dispatch:14 --out killed.json > /dev/null 2> killed.err
status=$?
if [ "$status" -eq 0 ] || [ "$status" -eq 124 ]; then echo "FAIL: status $status"; exit 1; fi
if [ -e killed.json ]; then echo "FAIL: a final report was written"; exit 1; fi
python3 - killed.json.partial <<'PY' || exit 1
import json, sys
d = json.load(open(sys.argv[1]))
done, planned = d["incomplete"]["finished_cells"], d["incomplete"]["planned_cells"]
assert 0 < done < planned == 8 and len(d["results"]) == done, d["incomplete"]
print(f"ok: {done} of {planned} cells survived the failed rank")
PY
"$bin" report killed.json.partial > report.out 2> report.err || { echo "FAIL: report"; exit 1; }
grep -q "partial results: .* of 8 cells" report.err || { echo "FAIL: no warning"; exit 1; }
"$bin" compare killed.json.partial killed.json.partial > compare.out 2>&1 || true
grep -q "holds partial results" compare.out || { echo "FAIL: compare did not warn"; exit 1; }
# A sweep that finishes: its report, and no partial file left.
timeout 120 "$here/../../scripts/mpirun.sh" --oversubscribe --bind-to none 2 "$bin" run "${grid[@]}" --sweep tokens=8,16 \
  --out done.json > /dev/null || { echo "FAIL: the sweep failed"; exit 1; }
if [ -e done.json.partial ]; then echo "FAIL: a partial file was left"; exit 1; fi
python3 -c "import json; d = json.load(open('done.json')); assert 'incomplete' not in d" || exit 1
# A partial file in the way is refused.
touch taken.json.partial
if "$here/../../scripts/mpirun.sh" --oversubscribe --bind-to none 1 "$bin" run --tokens 8 --out taken.json > /dev/null 2> taken.err; then
  echo "FAIL: overwrote a partial file"; exit 1
fi
grep -q "refusing to overwrite existing file taken.json.partial" taken.err || { cat taken.err; exit 1; }
echo "ok: partial results kept on failure, removed on success, never overwritten"
