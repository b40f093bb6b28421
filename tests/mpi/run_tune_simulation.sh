#!/usr/bin/env bash
# `c2rbench tune --cluster FILE` on a shipped described cluster: a many-rank deployment predicted
# from one process (small layer sizes), hierarchical METIS + swap search across its nodes, and the
# warning that its routing sample is too small to size padded capacity.
# Usage: run_tune_simulation.sh C2RBENCH CLUSTER_FILE
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
bin="$1"; cluster="$2"
out="$(mktemp -d)/sim.json"
timeout 300 "$here/../../scripts/mpirun.sh" --oversubscribe --bind-to none 1 "$bin" tune --cluster "$cluster" --experts 256 \
  --top-k 4 --hidden 64 --ffn 48 --workload clustered --tokens 4096 --sample-tokens 8192 \
  --top-t 8 --search-seconds 20 --quiet --out "$out" 2> "$out.err" || { cat "$out.err"; exit 1; }
# 8192 sampled tokens over 64 or more ranks at top-4 of 256 experts: at most 2 pairs per
# (rank, expert), too few to size padded capacity, which tune must say.
grep -q "warning: the simulation routes .* (token, expert) pairs per (rank, expert)" "$out.err" ||
  { cat "$out.err"; echo "FAIL: no warning about the small routing sample"; exit 1; }
python3 - "$out" <<'PY'
import json, sys
t = json.load(open(sys.argv[1]))
c = t["cluster"]
assert c["origin"] == "described" and c["ranks"] == t["ranks"] >= 64 and c["nodes"] > 1
n = t["ranks"]
(l,) = t["layers"]
assert l["method"] == "metis+swap"
assert sorted(l["expert_rank"].count(r) for r in range(n)) == [256 // n] * n
assert l["predicted"]["tuned"]["layer_us"] < l["predicted"]["contiguous"]["layer_us"]
assert "validation" not in t and t["profile"] is None
print("ok: simulated", n, "ranks, predicted gain over contiguous",
      round(l["predicted"]["contiguous"]["layer_us"] / l["predicted"]["tuned"]["layer_us"], 3))
PY
