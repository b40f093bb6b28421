#!/usr/bin/env bash
# The cost model's validation on a layer whose placements differ strongly in work: `c2rbench tune
# --validate` must score its predictions as it says (Spearman over the layer times, mean absolute
# layer error, targets met or not, recomputed here from its points) and rank the placements well
# above chance. LLaMA-MoE layer 0 under C2R T=2 routes very unevenly (its busiest expert gets about
# 2x the mean, one almost none), and with H = F = 1024 the layer is expert-bound, so the
# placements' busiest-rank rows set their times, 1.0x to 1.6x the mean (checked below, from the
# rows). Nine iterations per cell, interleaved: nine rounds over every cell, the median kept, so
# load drift on a shared machine lands on every placement alike.
# The targets themselves (Spearman >= 0.8, layer error <= 20%) are printed, not asserted: they are
# timing results, met or missed by a measurement on a shared machine (docs/PERFORMANCE.md reports
# them); on CI a busy host once inflated the calibrated per-expert cost and the error read 20.6%.
# Usage: run_tune_targets.sh C2RBENCH NP
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
bin="$1"; np="$2"
dir="$(mktemp -d)"
timeout 300 "$here/../../scripts/mpirun.sh" --oversubscribe --bind-to none "$np" "$bin" tune --layer 0 --top-t 2 --hidden 1024 --ffn 1024 \
  --tokens 512 --validate --warmup 1 --iters 9 --quiet --out "$dir/tuned.json" > "$dir/stdout"
# The cluster the predictions used and the validation table: shown when the test fails.
sed -n -e '/^# cluster/,/expert GEMM/p' -e '/^# validation/,$p' "$dir/stdout"
python3 - "$dir/tuned.json" "$np" <<'PY'
import json, sys
t = json.load(open(sys.argv[1])); n = int(sys.argv[2])
v = t["validation"]
points = v["points"]
assert len(points) == 9, len(points)
for p in points:
    assert sorted(p["expert_rank"].count(r) for r in range(n)) == [8 // n] * n, p
# The placements must differ strongly in work, or the ranking would be a noise test. Their
# busiest-rank rows (a count, the same on every machine) are what the layer times follow; the
# predicted times' spread is not used, since it shrinks with the calibrated per-expert cost,
# which a busy machine inflates (8.6 ms instead of 5 ms once, and a 1.18x spread for 1.5x rows).
imbalance = [p["measured"]["rank_imbalance"] for p in points]
assert max(imbalance) > 1.3 * min(imbalance), imbalance
spearman, error = v["spearman_layer"], v["mean_abs_error"]["layer"]
print(f"Spearman {spearman:.3f}, layer error {error * 100:.1f}% over "
      f"{v['error_points']['layer']} points (targets: Spearman >= {v['targets']['spearman_min']}, "
      f"error <= {v['targets']['layer_mae_max'] * 100:.0f}%: {'met' if v['targets']['met'] else 'NOT met'})")
for p in points:
    print(f"  {p['placement']:12s} {'baseline' if p['baseline'] else '':8s} rows x"
          f"{p['measured']['rank_imbalance']:.2f} predicted {p['predicted']['layer_us'] / 1e3:7.1f} ms "
          f"measured {p['measured']['layer_us'] / 1e3:7.1f} ms")
assert v["error_points"]["layer"] == len(points)


def ranks(values):
    """Fractional ranks (ties share their mean rank), 1-based."""
    order = sorted(range(len(values)), key=lambda i: values[i])
    out = [0.0] * len(values)
    i = 0
    while i < len(order):
        j = i
        while j + 1 < len(order) and values[order[j + 1]] == values[order[i]]:
            j += 1
        for k in range(i, j + 1):
            out[order[k]] = (i + j) / 2 + 1
        i = j + 1
    return out


predicted = [p["predicted"]["layer_us"] for p in points]
measured = [p["measured"]["layer_us"] for p in points]
rp, rm = ranks(predicted), ranks(measured)
mean = (len(points) + 1) / 2
cov = sum((a - mean) * (b - mean) for a, b in zip(rp, rm))
var_p = sum((a - mean) ** 2 for a in rp)
var_m = sum((b - mean) ** 2 for b in rm)
want_spearman = cov / (var_p * var_m) ** 0.5
assert abs(spearman - want_spearman) < 1e-9, (spearman, want_spearman)
want_error = sum(abs(a - b) / b for a, b in zip(predicted, measured)) / len(points)
assert abs(error - want_error) < 1e-9, (error, want_error)
targets = v["targets"]
assert targets["met"] == (spearman >= targets["spearman_min"] and error <= targets["layer_mae_max"])
# Well above chance: with the placements' work 1.3x or more apart, a model that ranks them this
# badly is broken, whatever the machine's load (measured: 0.917 on two busy CI hosts, 0.967 here).
assert spearman >= 0.5, f"Spearman {spearman:.3f} < 0.5: the model does not rank the placements"
PY
