#!/usr/bin/env bash
# Runs `c2rbench tune --replicas 0,4,8 --validate` on the hot workload (every token routed to the
# first two experts, which the ranks cannot share without replicas; experts wide enough that their
# GEMMs, not the exchange's latency, decide the layer on a busy machine) and checks that the tuner
# weighed each count, chose redundant experts, wrote the replicated placement `run` uses, and that
# its validation ran the replicated placements (tuned and EPLB) with the traffic and rank
# imbalance the cost model predicted for them, exactly (it sees the run's own tokens and routes
# them to replicas as the run does).
# Usage: run_tune_replicas.sh C2RBENCH NP
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
bin="$1"; np="$2"
dir="$(mktemp -d)"
timeout 300 "$here/../../scripts/mpirun.sh" --oversubscribe --bind-to none "$np" "$bin" tune --workload hot --hot-experts 2 \
  --experts 8 --hidden 256 --ffn 512 --tokens 128 --layer 0 --routing vanilla --strategy dropless \
  --replicas 0,4,8 --validate --warmup 1 --iters 1 --quiet --out "$dir/tuned.json"
python3 - "$dir/tuned.json" "$np" <<'PY'
import json, sys
t = json.load(open(sys.argv[1])); ranks = int(sys.argv[2])
table = t["replica_table"]
assert [row["replicas"] for row in table] == [0, 4, 8], table
assert sum(row["chosen"] for row in table) == 1 and t["replicas"] > 0, (t["replicas"], table)
layer = t["layers"][0]
slots = layer["rank_experts"]
assert len(slots) == ranks and all(len(s) == (8 + t["replicas"]) // ranks for s in slots), slots
assert layer["replica_method"] in ("eplb", "tuned+replicas"), layer["replica_method"]
points = t["validation"]["points"]
replicated = [p for p in points if p.get("rank_experts")]
assert {p["placement"] for p in replicated} == {"tuned", "eplb"}, [p["placement"] for p in points]
for p in replicated:
    assert p["predicted"]["remote_bytes"] == p["measured"]["remote_bytes"], p
    assert abs(p["predicted"]["rank_imbalance"] - p["measured"]["rank_imbalance"]) < 1e-9, p
print(f"ok: {t['replicas']} replicas chosen ({layer['replica_method']}); "
      f"{len(replicated)} replicated validation points match their predicted traffic and balance")
PY
