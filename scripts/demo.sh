#!/usr/bin/env bash
# The short demo: installs, builds, then benchmarks one LLaMA-MoE-3.5B layer on real routing data
# (trace, layer 0) on 2 local ranks: vanilla vs C2R Top-T=1, padded / dropless / dedup exchanges,
# contiguous vs collaboration-aware placement, every cell checked against the serial reference.
# Usage: scripts/demo.sh [NP] [extra `c2rbench run` options...]
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
np="${1:-2}"
shift || true
"$root/scripts/build.sh"
cd "$root"
# --oversubscribe: the demo runs on a machine with fewer cores than ranks too (bound when they fit).
exec "$root/scripts/mpirun.sh" --oversubscribe "$np" "$root/build/c2rbench" run \
  --preset llama-moe-3.5b --workload trace --layer 0 --tokens 256 \
  --routing vanilla,c2r --top-t 1 --strategy padded,dropless,dedup \
  --placement contiguous,collab --warmup 1 --iters 10 --check "$@"
