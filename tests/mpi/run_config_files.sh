#!/usr/bin/env bash
# Config files end to end: `run --config run.toml` (TOML, the command line winning), then
# `run --config-from` its report repeats the run exactly: the same configuration (options
# included), the same cells, and the same routing, traffic and check (they do not depend on
# timing). Same for `tune --config` and `tune --config-from` its tuning file.
# Usage: run_config_files.sh C2RBENCH
set -uo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
bin="$1"
dir="$(mktemp -d)"
trap 'rm -rf "$dir"' EXIT
mpirun_sh=("$here/../../scripts/mpirun.sh" --oversubscribe --bind-to none)
cat > "$dir/run.toml" <<'TOML'
# A small grid on LLaMA-MoE layer 3.
hidden = 64
ffn = 48
tokens = 32
layer = "3"
routing = ["vanilla", "c2r"]
top-t = 1
strategy = ["dropless", "dedup"]
placement = "contiguous,collab"
warmup = 1
iters = 2
check = true
TOML
timeout 120 "${mpirun_sh[@]}" 2 "$bin" run --config "$dir/run.toml" --iters 3 --quiet \
  --out "$dir/first.json" >/dev/null || { echo "FAIL: run --config"; exit 1; }
timeout 120 "${mpirun_sh[@]}" 2 "$bin" run --config-from "$dir/first.json" --quiet \
  --out "$dir/again.json" >/dev/null || { echo "FAIL: run --config-from"; exit 1; }
cat > "$dir/tune.toml" <<'TOML'
[tune]
hidden = 64
ffn = 48
tokens = 32
layer = "0"
top-t = "1,2"
search-seconds = 0.5
TOML
timeout 200 "${mpirun_sh[@]}" 2 "$bin" tune --config "$dir/tune.toml" --quiet \
  --out "$dir/tuned.json" >/dev/null || { echo "FAIL: tune --config"; exit 1; }
timeout 200 "${mpirun_sh[@]}" 2 "$bin" tune --config-from "$dir/tuned.json" --quiet \
  --out "$dir/retuned.json" >/dev/null || { echo "FAIL: tune --config-from"; exit 1; }
python3 - "$dir" <<'PY'
import json, sys
d = sys.argv[1]
first, again = (json.load(open(f"{d}/{n}.json")) for n in ("first", "again"))
options = first["config"]["options"]
assert options["iters"] == "3" and options["tokens"] == "32" and options["check"] is True, options
assert options["routing"] == "vanilla,c2r" and options["strategy"] == "dropless,dedup", options
assert "out" not in options and "config" not in options, options
for key in ("data_dir",):
    first["config"].pop(key, None), again["config"].pop(key, None)
assert first["config"] == again["config"], (first["config"], again["config"])
def cells(report):  # what the routing decides: bytes, loads and the check (bandwidths are timed)
    return {(r["layer"], r["routing"], r["top_t"], r["strategy"], r["placement"]):
            ({k: v for k, v in r["traffic"].items() if not k.endswith("_GBps")}, r["load"],
             r["check"]["wrong_rows"]) for r in report["results"]}
a, b = cells(first), cells(again)
assert a.keys() == b.keys() and len(a) >= 8, (sorted(a), sorted(b))
for key in a:
    assert a[key] == b[key], (key, a[key], b[key])
tuned, retuned = (json.load(open(f"{d}/{n}.json")) for n in ("tuned", "retuned"))
assert tuned["created"]["options"] == retuned["created"]["options"], tuned["created"]["options"]
assert tuned["created"]["options"]["top-t"] == "1,2", tuned["created"]["options"]
print(f"ok: {len(a)} cells repeated from the report's {len(options)} recorded options; "
      f"tune repeated from its {len(tuned['created']['options'])}")
PY
