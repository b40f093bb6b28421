#!/usr/bin/env bash
# Runs `c2rbench tune --validate` on the hot workload (every token routed to the first N experts)
# and checks that the validation measured the workload that was tuned for: every point's
# predicted traffic and rank imbalance equal the measured ones exactly (the cost model sees the
# run's own tokens), for N > 1 (a validation that fell back to one hot expert would differ).
# Usage: run_tune_hot.sh C2RBENCH NP HOT_EXPERTS
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
bin="$1"; np="$2"; hot="$3"
dir="$(mktemp -d)"
timeout 300 "$here/../../scripts/mpirun.sh" --oversubscribe --bind-to none "$np" "$bin" tune --workload hot --hot-experts "$hot" \
  --experts 8 --hidden 64 --ffn 48 --tokens 64 --layer 0 --routing vanilla --validate \
  --warmup 1 --iters 1 --quiet --out "$dir/tuned.json"
python3 - "$dir/tuned.json" "$hot" <<'PY'
import json, sys
t = json.load(open(sys.argv[1])); hot = int(sys.argv[2])
assert t["workload"]["kind"] == "hot" and t["workload"]["hot_experts"] == hot, t["workload"]
points = t["validation"]["points"]
assert len(points) >= 5, len(points)
for p in points:
    assert p["predicted"]["remote_bytes"] == p["measured"]["remote_bytes"], p
    assert abs(p["predicted"]["rank_imbalance"] - p["measured"]["rank_imbalance"]) < 1e-9, p
print(f"ok: {len(points)} validation points of --hot-experts {hot} match their predictions")
PY
