#!/usr/bin/env bash
# A sweep over rank counts: `c2rbench run` once per rank count (local ranks, through
# scripts/mpirun.sh), each into its own report, then one HTML page of them all with the layer time
# against the rank count.
# Usage: scripts/sweep_ranks.sh "1 2 4" OUT_DIR [c2rbench run options...]
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
rank_counts="$1"; out="$2"; shift 2
mkdir -p "$out"
reports=()
for np in $rank_counts; do
  echo "# sweep: $np rank(s)" >&2
  "$root/scripts/mpirun.sh" "$np" "$root/build/c2rbench" run "$@" --quiet \
    --out "$out/ranks-$np.json" >/dev/null
  reports+=("$out/ranks-$np.json")
done
"$root/build/c2rbench" report "${reports[@]}" --html "$out/sweep.html"
