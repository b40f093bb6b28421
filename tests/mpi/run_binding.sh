#!/usr/bin/env bash
# Binding through scripts/mpirun.sh: ranks that fit this machine's cores are bound to cores of
# their own (distinct cpusets in the report, no warning); --bind-to none leaves them sharing the
# CPUs, which run warns about on stderr and records in context.warnings; more ranks than cores are
# refused without --oversubscribe, naming the counts, and run with it.
# Usage: run_binding.sh C2RBENCH
set -uo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
bin="$1"
dir="$(mktemp -d)"
trap 'rm -rf "$dir"' EXIT
mpirun_sh="$here/../../scripts/mpirun.sh"
small=(--hidden 64 --ffn 48 --tokens 16 --iters 1 --warmup 1 --routing vanilla --strategy dropless
  --placement contiguous --quiet)
per_core=$(lscpu | awk -F: '/^Thread\(s\) per core/ {gsub(/ /, "", $2); print $2}')
cores=$(($(nproc) / ${per_core:-1}))
fit=$((cores >= 2 ? 2 : 1))

timeout 120 "$mpirun_sh" "$fit" "$bin" run "${small[@]}" --out "$dir/bound.json" \
  >/dev/null 2>"$dir/bound.err" || { cat "$dir/bound.err"; echo "FAIL: bound run"; exit 1; }
timeout 120 "$mpirun_sh" --bind-to none 2 "$bin" run "${small[@]}" --out "$dir/unbound.json" \
  >/dev/null 2>"$dir/unbound.err" || { cat "$dir/unbound.err"; echo "FAIL: unbound run"; exit 1; }
python3 - "$dir" "$fit" "$cores" <<'PY' || exit 1
import json, sys
d, fit, cores = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
bound = json.load(open(f"{d}/bound.json"))["context"]
sets = [r["binding"]["cpuset"] for r in bound["rank_binding"]]
assert len(sets) == fit, sets
if cores >= 2:
    assert len(set(sets)) == fit, f"bound ranks share a cpuset: {sets}"
    assert all(r["binding"]["cores"] == 1 for r in bound["rank_binding"]), bound["rank_binding"]
assert bound["warnings"] == [], bound["warnings"]
assert "share CPUs" not in open(f"{d}/bound.err").read()
unbound = json.load(open(f"{d}/unbound.json"))["context"]
assert len(unbound["warnings"]) == 1 and "ranks 0-1 on host" in unbound["warnings"][0] \
    and "share CPUs" in unbound["warnings"][0], unbound["warnings"]
assert "warning: ranks 0-1 on host" in open(f"{d}/unbound.err").read()
print(f"ok: bound cpusets {sets}; unbound warned")
PY

# One rank more than the cores: refused (exit 2, the counts named, nothing run), then run with
# --oversubscribe.
over=$((cores + 1))
if "$mpirun_sh" "$over" "$bin" run "${small[@]}" --out "$dir/over.json" >/dev/null 2>"$dir/over.err"; then
  echo "FAIL: $over ranks on $cores cores ran without --oversubscribe"; exit 1
fi
grep -q "need $over cores; this machine has $cores" "$dir/over.err" || { cat "$dir/over.err"; echo "FAIL: refusal message"; exit 1; }
[ ! -e "$dir/over.json" ] || { echo "FAIL: the refused launch wrote a report"; exit 1; }
timeout 200 "$mpirun_sh" --oversubscribe "$over" "$bin" run "${small[@]}" --experts "$((over * 2))" \
  --workload random --out "$dir/over.json" >/dev/null 2>"$dir/over.err" || { cat "$dir/over.err"; echo "FAIL: --oversubscribe"; exit 1; }
grep -q "share CPUs" "$dir/over.err" || { echo "FAIL: no warning for oversubscribed ranks"; exit 1; }
echo "ok: $over ranks refused on $cores cores, and run with --oversubscribe"
