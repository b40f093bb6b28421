#!/usr/bin/env bash
# Runs `c2rbench tune --overlap 1,2 --validate` under mpirun on real LLaMA-MoE routing (small layer
# sizes) and checks that the tuner weighed both pipeline degrees, chose the one it predicts
# fastest, and validated every degree: points of both, each pipelined prediction with the run's
# traffic to the byte.
# Usage: run_tune_overlap.sh C2RBENCH NP
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
bin="$1"; np="$2"
dir="$(mktemp -d)"
timeout 300 "$here/../../scripts/mpirun.sh" --oversubscribe --bind-to none "$np" "$bin" tune --hidden 64 --ffn 48 --tokens 96 \
  --layer 3 --top-t 1,2 --overlap 1,2 --validate --warmup 1 --iters 1 --quiet \
  --out "$dir/tuned.json" > "$dir/stdout.txt"
grep -q "^# overlap (token chunks pipelined per layer" "$dir/stdout.txt"
python3 - "$dir/tuned.json" <<'PY'
import json, sys
t = json.load(open(sys.argv[1]))
table = t["overlap_table"]
assert [r["overlap"] for r in table] == [1, 2], table
fastest = min(table, key=lambda r: (r["layer_us"], r["overlap"]))
assert [r["chosen"] for r in table] == [r is fastest for r in table], table
assert t["overlap"] == fastest["overlap"], (t["overlap"], table)
points = t["validation"]["points"]
# 8 placements of the chosen routing + the baseline, per degree.
assert sorted({p["overlap"] for p in points}) == [1, 2], points
assert len(points) == 2 * 9, len(points)
for p in points:
    assert p["predicted"]["remote_bytes"] == p["measured"]["remote_bytes"], p
    assert p["measured"]["layer_us"] > 0, p
# The gains are the serial layer's placements'.
assert all(g["tuned_layer_us"] > 0 for g in t["validation"]["measured_gain"])
print("ok: overlap", t["overlap"], "of", [r["layer_us"] for r in table])
PY
