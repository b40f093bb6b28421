#!/usr/bin/env bash
# A report, its CSV and the Python loader agree on every value: runs a small grid under mpirun (a
# token sweep, so cells carry their own size; eplb, so cells carry speedup_vs_eplb; --check), writes
# `report --csv`, and checks with tools/c2rbench_results.py that the CSV holds exactly the rows the
# loader builds from the JSON, that a changed value is caught, and that `compare --format csv` has
# one row per row of `compare --format json` (the same grid run again).
# Usage: run_csv.sh C2RBENCH NP
set -euo pipefail
export PYTHONDONTWRITEBYTECODE=1  # no __pycache__ in the source tree
here="$(cd "$(dirname "$0")" && pwd)"
tools="$here/../../tools"
bin="$1"; np="$2"
dir="$(mktemp -d)"
cd "$dir"
timeout 300 "$here/../../scripts/mpirun.sh" --oversubscribe --bind-to none "$np" "$bin" run --check --quiet --experts 8 \
  --workload hot --hot-experts 2 --hidden 64 --ffn 48 --sweep tokens=8,16 --iters 2 --warmup 1 \
  --routing vanilla,c2r --top-t 2 --placement contiguous,eplb --replicas 2 --out a.json > /dev/null
timeout 300 "$here/../../scripts/mpirun.sh" --oversubscribe --bind-to none "$np" "$bin" run --quiet --experts 8 \
  --workload hot --hot-experts 2 --hidden 64 --ffn 48 --sweep tokens=8,16 --iters 2 --warmup 1 \
  --routing vanilla,c2r --top-t 2 --placement contiguous,eplb --replicas 2 --out b.json > /dev/null
"$bin" report a.json --csv a.csv > /dev/null
python3 "$tools/c2rbench_results.py" a.json --check-csv a.csv
# A changed value must be caught: the first row's median.
python3 - a.csv <<'PY'
import csv, sys
rows = list(csv.reader(open(sys.argv[1], newline="")))
column = rows[0].index("median_us")
rows[1][column] = str(float(rows[1][column]) * 1.5)
csv.writer(open("changed.csv", "w", newline=""), lineterminator="\n").writerows(rows)
PY
if python3 "$tools/c2rbench_results.py" a.json --check-csv changed.csv 2> changed.err; then
  echo "FAIL: a changed median passed the check"; exit 1
fi
grep -q "median_us" changed.err
"$bin" compare b.json a.json --format json > cmp.json
"$bin" compare b.json a.json --format csv > cmp.csv
python3 - cmp.json cmp.csv a.json <<PY
import csv, json, sys
sys.path.insert(0, "$tools")
import c2rbench_results as cr
comparison = json.load(open(sys.argv[1]))
rows = list(csv.DictReader(open(sys.argv[2], newline="")))
assert len(rows) == len(comparison["rows"]) > 0, (len(rows), len(comparison["rows"]))
for row, want in zip(rows, comparison["rows"]):
    assert row["cell"] == want["cell"] and row["phase"] == want["phase"], (row, want)
    assert float(row["median_us"]) == want["median_us"], (row, want)
    assert row["verdict"] == want["verdict"], (row, want)
report = cr.load_report(sys.argv[3])
assert {r["tokens_per_rank"] for r in report} == {8, 16}, "a sweep's cells carry their size"
assert any(r["speedup_vs_eplb"] is not None for r in report), "eplb cells carry speedup_vs_eplb"
assert all(r["wrong_rows"] == 0 for r in report), "every checked cell is right"
assert cr.frame(report) is not None
print(f"ok: {len(report)} report rows and {len(rows)} comparison rows agree")
PY
