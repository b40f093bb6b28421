#!/usr/bin/env bash
# A sweep over rank counts: `c2rbench run` once per rank count (local ranks, through
# scripts/mpirun.sh), each into its own report, merged into one report (sweep.json: every result
# tagged with its "ranks", config.sweep = {"ranks": [...]}, each run's context under "contexts"),
# and one HTML page with the layer time against the rank count.
# Usage: scripts/sweep_ranks.sh "1 2 4" OUT_DIR [c2rbench run options...]
#        (C2RBENCH=path/to/c2rbench picks another build than build/c2rbench, as the tests do;
#        MPIRUN_OPTIONS="--oversubscribe" lets a count exceed the cores, see scripts/mpirun.sh)
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
bin="${C2RBENCH:-$root/build/c2rbench}"
rank_counts="$1"; out="$2"; shift 2
mkdir -p "$out"
reports=()
for np in $rank_counts; do
  echo "# sweep: $np rank(s)" >&2
  # shellcheck disable=SC2086  # MPIRUN_OPTIONS: several words
  "$root/scripts/mpirun.sh" ${MPIRUN_OPTIONS:-} "$np" "$bin" run "$@" --quiet \
    --out "$out/ranks-$np.json" >/dev/null
  reports+=("$out/ranks-$np.json")
done
python3 - "$out/sweep.json" "${reports[@]}" <<'PY'
import json, os, sys
out, paths = sys.argv[1], sys.argv[2:]
runs = [json.load(open(p)) for p in paths]
merged = dict(runs[0])
merged["contexts"] = [r["context"] for r in runs]
merged["config"] = dict(runs[0]["config"], sweep={"ranks": [r["config"]["ranks"] for r in runs]})
# With --min-time each run decided its own rounds: listed per run, as a tokens sweep does.
if runs[0]["config"].get("min_time_s", 0) > 0 and "rounds" in merged["config"]:
    merged["config"]["sweep"]["rounds"] = [r["config"]["rounds"] for r in runs]
    del merged["config"]["rounds"]
merged["results"] = [dict(cell, ranks=r["config"]["ranks"]) for r in runs for cell in r["results"]]
merged.pop("summary", None)
if os.path.exists(out):
    sys.exit(f"sweep_ranks.sh: refusing to overwrite {out}")
with open(out + ".tmp", "w") as f:
    json.dump(merged, f, indent=1)
os.link(out + ".tmp", out)
os.unlink(out + ".tmp")
PY
"$bin" report "$out/sweep.json" --html "$out/sweep.html"
