#!/usr/bin/env bash
# The peer comparison, in one call on a GPU machine: one MoE layer on one GPU timed two ways —
# c2rbench's CUDA backend (dropless, contiguous, vanilla routing, random workload) and the same
# layer written in PyTorch the MegaBlocks dropless way (tools/torch_moe_layer.py) — both written as
# c2rbench reports, then their phase medians side by side.
# Usage: scripts/pytorch_peer.sh [PRESET] [TOKENS] [OUT_DIR]
#        (defaults: llama-moe-3.5b 16384 results/peer-<time>; C2RBENCH=path/to/c2rbench uses that
#        binary, e.g. a bundle's, instead of building)
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
preset="${1:-llama-moe-3.5b}"
tokens="${2:-16384}"
out="${3:-$root/results/peer-$(date +%Y%m%d-%H%M%S)}"
mkdir -p "$out"
bin="${C2RBENCH:-}"
if [ -z "$bin" ]; then
  "$root/scripts/build.sh"
  bin="$root/build/c2rbench"
fi
"$root/scripts/mpirun.sh" 1 "$bin" run --backend cuda --preset "$preset" \
  --workload random --tokens "$tokens" --routing vanilla --strategy dropless \
  --placement contiguous --warmup 3 --iters 20 --check --quiet --out "$out/c2rbench.json"
python3 "$root/tools/torch_moe_layer.py" --preset "$preset" --tokens "$tokens" --warmup 3 \
  --iters 20 --out "$out/pytorch.json"
python3 - "$out/c2rbench.json" "$out/pytorch.json" <<'PY'
import json, sys
reports = [json.load(open(path)) for path in sys.argv[1:]]
cells = [next(r for r in report["results"] if r["baseline"]) for report in reports]
print(f"# {'phase':<10} {'c2rbench (us)':>14} {'pytorch (us)':>14} {'pytorch / c2rbench':>19}")
for phase in ("gate", "permute", "dispatch", "expert", "combine", "unpermute", "layer"):
    a, b = (cell["phases"][phase]["median_us"] for cell in cells)
    print(f"  {phase:<10} {a:14.1f} {b:14.1f} {b / a if a else 0.0:19.3f}")
print("# c2rbench's layer includes its one-rank exchange through NCCL and two barriers")
PY
echo "# reports: $out"
