#!/usr/bin/env bash
# Runs `c2rbench run --check` under mpirun and fails unless it exits 0, every cell reports zero wrong
# rows, and the report is valid JSON with one result per expected cell.
# Usage: run_check.sh C2RBENCH NP EXPECTED_CELLS [c2rbench run options...]
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
bin="$1"; np="$2"; cells="$3"; shift 3
out="$(mktemp -d)/report.json"
timeout 300 "$here/../../scripts/mpirun.sh" "$np" "$bin" run --check --quiet --out "$out" "$@"
python3 - "$out" "$cells" <<'PY'
import json, sys
report = json.load(open(sys.argv[1]))
assert report["schema"] == "c2rbench.report" and report["schema_version"] == 1
results = report["results"]
assert len(results) == int(sys.argv[2]), f"expected {sys.argv[2]} cells, got {len(results)}"
for r in results:
    c = r["check"]
    assert c["checked"] and c["wrong_rows"] == 0, f"wrong rows in {r['routing']} {r['strategy']} {r['placement']}"
    assert c["rows"] > 0
    for phase in ("gate", "permute", "dispatch", "expert", "combine", "unpermute", "layer"):
        assert r["phases"][phase]["n"] == report["config"]["iterations"]
print(f"ok: {len(results)} cells, worst relative error "
      f"{max(r['check']['worst_relative_error'] for r in results):.2e}")
PY
