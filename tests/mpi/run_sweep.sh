#!/usr/bin/env bash
# Sweeps: `run --sweep tokens=...` into one report (every cell once per size, each with its own
# baseline, checked), compared with itself, and plotted; a geometric sweep from 1 token per rank
# plotted on log-log axes (rendered by headless Chromium where it is installed); a sweep over rank
# counts through scripts/sweep_ranks.sh plotted against the rank count; malformed sweeps refused.
# Usage: run_sweep.sh C2RBENCH
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
bin="$1"
dir="$(mktemp -d)"
small=(--hidden 64 --ffn 48 --routing vanilla --strategy dropless,dedup --placement contiguous
       --iters 2 --warmup 1)
timeout 120 "$here/../../scripts/mpirun.sh" --oversubscribe --bind-to none 2 "$bin" run "${small[@]}" --sweep tokens=16,32,64 \
  --check --quiet --out "$dir/tokens.json" >/dev/null
# Geometric, from the decode regime (1 token per rank) up: 1, 4, 16.
timeout 120 "$here/../../scripts/mpirun.sh" --oversubscribe --bind-to none 2 "$bin" run "${small[@]}" --sweep tokens=1:16:x4 \
  --check --quiet --out "$dir/geometric.json" >/dev/null
"$bin" report "$dir/geometric.json" --html "$dir/geometric.html" >/dev/null
"$bin" compare "$dir/tokens.json" "$dir/tokens.json" --phase layer >/dev/null
"$bin" report "$dir/tokens.json" --html "$dir/tokens.html" >/dev/null
C2RBENCH="$bin" MPIRUN_OPTIONS="--oversubscribe --bind-to none" timeout 200 "$here/../../scripts/sweep_ranks.sh" "1 2" "$dir/ranks" "${small[@]}" \
  --tokens 32 >/dev/null 2>&1
python3 - "$dir" <<'PY'
import json, re, sys
d = sys.argv[1]
r = json.load(open(f"{d}/tokens.json"))
assert r["config"]["sweep"] == {"tokens_per_rank": [16, 32, 64]}, r["config"].get("sweep")
cells = r["results"]
assert [c["tokens_per_rank"] for c in cells] == [16, 16, 32, 32, 64, 64], cells
assert all(c["check"]["wrong_rows"] == 0 for c in cells)
assert [c["speedup_vs_baseline"] for c in cells if c["baseline"]] == [1.0, 1.0, 1.0]
page = open(f"{d}/tokens.html").read()
assert "Layer time vs tokens per rank" in page
assert page.count('class="sweep-line"') == 2 and page.count('class="sweep-point"') == 6
g = json.load(open(f"{d}/geometric.json"))
assert g["config"]["sweep"] == {"tokens_per_rank": [1, 4, 16]}, g["config"].get("sweep")
assert [c["tokens_per_rank"] for c in g["results"]] == [1, 1, 4, 4, 16, 16], g["results"]
assert all(c["check"]["wrong_rows"] == 0 for c in g["results"])
page = open(f"{d}/geometric.html").read()
# The log-log latency plots: layer, and dispatch + combine; a line per cell, a point per size.
assert page.count('<svg class="latency-layer"') == 1 and page.count('<svg class="latency-exchange"') == 1
assert page.count('class="latency-line"') == 2 * 2, page.count('class="latency-line"')
assert page.count('class="latency-point"') == 2 * 2 * 3, page.count('class="latency-point"')
for cell in ("vanilla dropless contiguous fp32", "vanilla dedup contiguous fp32"):
    assert f">{cell}</text>" in page, cell
assert "http://" not in page and "https://" not in page and "<script" not in page
merged = json.load(open(f"{d}/ranks/sweep.json"))
assert merged["config"]["sweep"] == {"ranks": [1, 2]} and len(merged["contexts"]) == 2
assert [c["ranks"] for c in merged["results"]] == [1, 1, 2, 2], merged["results"]
ranks = open(f"{d}/ranks/sweep.html").read()
assert "Layer time vs ranks" in ranks and ranks.count('class="sweep-line"') == 2, ranks.count('sweep-line')
print("ok: sweeps over tokens and ranks")
PY
if "$here/../../scripts/mpirun.sh" --oversubscribe --bind-to none 2 "$bin" run --sweep tokens=8,x --out "$dir/bad.json" \
    2> "$dir/err.txt" >/dev/null; then
  echo "FAIL: a malformed sweep was accepted"; exit 1
fi
grep -q "c2rbench: error: --sweep: 'x' is not a positive token count" "$dir/err.txt"
if "$here/../../scripts/mpirun.sh" --oversubscribe --bind-to none 2 "$bin" run --sweep tokens=1:4096:x1 --out "$dir/bad.json" \
    2> "$dir/err.txt" >/dev/null; then
  echo "FAIL: a geometric sweep with factor 1 was accepted"; exit 1
fi
grep -q "c2rbench: error: --sweep tokens=1:4096:x1: FACTOR 'x1' is not a whole number of 2 or more" \
  "$dir/err.txt"
if grep -E "^SUMMARY: [A-Za-z]+Sanitizer" "$dir/err.txt"; then echo "FAIL: sanitizer report"; exit 1; fi
[ ! -e "$dir/bad.json" ]
echo "ok: malformed sweeps refused"
# The latency plot rendered (skipped, saying so, where Chromium is missing).
browser="$(command -v chromium || command -v chromium-browser || true)"
if [ -z "$browser" ]; then
  echo "SKIPPED: no chromium to render the latency plot"
  exit 0
fi
timeout 120 "$browser" --headless=new --no-sandbox --disable-gpu --hide-scrollbars \
  --window-size=1400,2400 --screenshot="$dir/geometric.png" "file://$dir/geometric.html" \
  >/dev/null 2>&1 || true
python3 - "$dir/geometric.png" <<'PY'
import struct, sys, zlib
data = open(sys.argv[1], "rb").read()
assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
chunks, i = b"", 8
while i < len(data):
    n = struct.unpack(">I", data[i:i + 4])[0]; kind = data[i + 4:i + 8]
    if kind == b"IDAT": chunks += data[i + 8:i + 8 + n]
    i += 12 + n
assert len(set(zlib.decompress(chunks))) > 32, "the rendered page is blank"
print("ok: latency plot rendered")
PY
