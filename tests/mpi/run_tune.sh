#!/usr/bin/env bash
# Runs `c2rbench tune --validate` under mpirun on real LLaMA-MoE routing (small layer sizes), checks
# the tuning file (balanced placements, tables, validation points whose predicted traffic equals
# the measured traffic exactly), then runs the tuned placement with `run --placement FILE --check`.
# Usage: run_tune.sh C2RBENCH NP [STRATEGY]   (the strategy tuned for and run; default dedup)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
bin="$1"; np="$2"; strategy="${3:-dedup}"
dir="$(mktemp -d)"
small=(--hidden 64 --ffn 48 --tokens 128 --layer 0,5)
timeout 300 "$here/../../scripts/mpirun.sh" --oversubscribe --bind-to none "$np" "$bin" tune "${small[@]}" --validate \
  --strategy "$strategy" --warmup 1 --iters 2 --quiet --out "$dir/tuned.json"
read -r routing top_t < <(python3 - "$dir/tuned.json" "$np" "$strategy" <<'PY'
import json, sys
t = json.load(open(sys.argv[1])); n = int(sys.argv[2])
assert t["schema"] == "c2rbench.tuning" and t["schema_version"] == 1
assert t["strategy"] == sys.argv[3], t["strategy"]
assert t["model"]["preset"] == "llama-moe-3.5b" and t["ranks"] == n and t["experts"] == 8
assert [l["layer"] for l in t["layers"]] == [0, 5]
for l in t["layers"]:
    owner = l["expert_rank"]
    assert sorted(owner.count(r) for r in range(n)) == [8 // n] * n, owner
    assert l["method"] == "exhaustive"
    p = l["predicted"]
    assert p["tuned"]["layer_us"] <= p["contiguous"]["layer_us"] * (1 + 1e-9)
assert len(t["top_t_table"]) == 7 and sum(r["chosen"] for r in t["top_t_table"]) == 1
assert sum(r["chosen"] for r in t["capacity_table"]) == 1
v = t["validation"]
# 8 placements of the chosen routing + the baseline, per layer.
assert len(v["points"]) == 2 * 9, len(v["points"])
for layer in (0, 5):
    mine = {p["placement"]: p["expert_rank"] for p in v["points"]
            if p["layer"] == layer and not p["baseline"]}
    assert sorted(mine) == ["collab", "contiguous", "random-1", "random-2", "random-3",
                            "round-robin", "tuned", "worst"], sorted(mine)
    # Seeded random placements that are balanced and differ from each other.
    randoms = [tuple(mine["random-%d" % i]) for i in (1, 2, 3)]
    assert len(set(randoms)) == 3, randoms
for p in v["points"]:
    assert sorted(p["expert_rank"].count(r) for r in range(n)) == [8 // n] * n, p
    # The measured imbalance comes from the rows every rank computed; dedup and the baseline
    # compute every routed pair, so it must equal the routing's prediction.
    # The cost model sees exactly the run's tokens: its traffic must match the run's to the byte.
    assert p["predicted"]["remote_bytes"] == p["measured"]["remote_bytes"], p
    assert abs(p["predicted"]["rank_imbalance"] - p["measured"]["rank_imbalance"]) < 1e-9, p
    assert p["measured"]["layer_us"] > 0
# Every phase's error is a mean over the points measured above 0, and says over how many.
for phase, count in v["error_points"].items():
    assert 1 <= count <= len(v["points"]), (phase, count)
    assert v["mean_abs_error"][phase] >= 0, phase
assert v["error_points"]["layer"] == len(v["points"])
print(t["routing"], t["top_t"] if t["top_t"] is not None else 0)
PY
)
echo "tuned: routing $routing, Top-T $top_t"
args=(--routing "$routing" --strategy "$strategy" --placement contiguous,"$dir/tuned.json")
if [ "$routing" = c2r ]; then args+=(--top-t "$top_t"); fi
timeout 300 "$here/../../scripts/mpirun.sh" --oversubscribe --bind-to none "$np" "$bin" run --check --quiet "${small[@]}" \
  --iters 1 --warmup 1 "${args[@]}" --out "$dir/run.json"
python3 - "$dir/run.json" "$dir/tuned.json" <<'PY'
import json, sys
run = json.load(open(sys.argv[1])); tuned = json.load(open(sys.argv[2]))
owner = {l["layer"]: l["expert_rank"] for l in tuned["layers"]}
used = [r for r in run["results"] if r["placement"].endswith("tuned.json")]
assert len(used) == 2, len(used)
for r in used:
    assert r["expert_rank"] == owner[r["layer"]]
    assert r["check"]["checked"] and r["check"]["wrong_rows"] == 0
print("ok: tuned placements run and check")
PY
