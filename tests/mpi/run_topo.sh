#!/usr/bin/env bash
# Runs `c2rbench topo` under mpirun and checks the cluster profile: every rank placed, a symmetric
# positive latency and bandwidth for every pair, all2all probes and a fit.
# Usage: run_topo.sh C2RBENCH NP
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
bin="$1"; np="$2"
out="$(mktemp -d)/cluster.json"
timeout 120 "$here/../../scripts/mpirun.sh" --oversubscribe --bind-to none "$np" "$bin" topo --repetitions 5 --out "$out"
python3 - "$out" "$np" <<'PY'
import json, sys
p = json.load(open(sys.argv[1])); n = int(sys.argv[2])
assert p["schema"] == "c2rbench.cluster" and p["schema_version"] == 1 and p["ranks"] == n
assert [x["rank"] for x in p["places"]] == list(range(n))
for i in range(n):
    for j in range(n):
        lat, bw = p["latency_s"][i * n + j], p["bandwidth_Bps"][i * n + j]
        if i == j:
            assert lat == 0 and bw == 0
        else:
            assert lat > 0 and bw > 0, (i, j)
            assert lat == p["latency_s"][j * n + i]
assert len(p["alltoall"]["seconds"]) == len(p["alltoall"]["bytes"]) >= 2
print("ok: cluster profile of", n, "ranks")
PY
