#!/usr/bin/env bash
# Determinism: the same seed gives bit-identical routing for 1..4 ranks (the same 96 global tokens
# split 96/1, 48/2, 32/3, 24/4, and unevenly 0,61,35 over 3 ranks, give the same tokens per expert
# and co-activation matrix), and a repeated run gives identical traffic counts.
# Usage: run_determinism.sh C2RBENCH
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
bin="$1"
dir="$(mktemp -d)"
args=(--experts 12 --workload clustered --hidden 64 --ffn 48 --iters 1 --warmup 1
      --routing vanilla,c2r --top-t 3 --strategy padded,dropless,dedup --placement contiguous,collab
      --capacity-factor 1.0 --quiet)
for np in 1 2 3 4 3u; do
  for run in a b; do
    if [ "$np" = 3u ]; then tokens=(--rank-tokens 0,61,35); else tokens=(--tokens $((96 / np))); fi
    timeout 120 "$here/../../scripts/mpirun.sh" --oversubscribe --bind-to none "${np%u}" "$bin" run "${args[@]}" "${tokens[@]}" \
      --out "$dir/np$np-$run.json" >/dev/null
  done
done
python3 - "$dir" <<'PY'
import json, sys
d = sys.argv[1]
def key(c):
    return (c["routing"], str(c["top_t"]), c["strategy"], c["placement"])
routing = None
for np in ("1", "2", "3", "4", "3u"):
    a = json.load(open(f"{d}/np{np}-a.json"))["results"]
    b = json.load(open(f"{d}/np{np}-b.json"))["results"]
    assert [key(c) for c in a] == [key(c) for c in b]
    for x, y in zip(a, b):
        # A repeated run moves exactly the same rows and drops exactly the same pairs.
        assert x["traffic"]["dispatch_bytes"] == y["traffic"]["dispatch_bytes"], (np, key(x))
        assert x["traffic"]["combine_bytes"] == y["traffic"]["combine_bytes"], (np, key(x))
        assert x["load"]["dropped_pairs"] == y["load"]["dropped_pairs"], (np, key(x))
        assert x["expert_rank"] == y["expert_rank"], (np, key(x))
    # Routing does not depend on how the global tokens are split over ranks.
    mine = {(c["routing"], str(c["top_t"])): (c["load"]["tokens_per_expert"], c["load"]["coactivation"])
            for c in a}
    if routing is None:
        routing = mine
    assert mine == routing, f"routing at {np} ranks differs from 1 rank"
print("ok: identical routing for 1..4 ranks (and an uneven split) and identical traffic on "
      "repeated runs")
PY
