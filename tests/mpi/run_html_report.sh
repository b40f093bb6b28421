#!/usr/bin/env bash
# `c2rbench report --html` for real: a run and a validated tuning rendered into one page, the SVG
# elements counted against the reports (phase bars, heatmap cells, rank-group outlines, load bars,
# efficiency bars, scatter points), nothing fetched from a network, and the page rendered by
# headless Chromium into a non-empty PNG (skipped, saying so, where Chromium is missing).
# Usage: run_html_report.sh C2RBENCH
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
bin="$1"
dir="$(mktemp -d)"
small=(--hidden 64 --ffn 48 --tokens 64 --layer 3)
timeout 120 "$here/../../scripts/mpirun.sh" --oversubscribe --bind-to none 2 "$bin" run "${small[@]}" --iters 3 --routing vanilla,c2r \
  --top-t 1 --strategy dropless,dedup --placement contiguous,collab --quiet --out "$dir/run.json" >/dev/null
timeout 120 "$here/../../scripts/mpirun.sh" --oversubscribe --bind-to none 2 "$bin" tune "${small[@]}" --validate --iters 1 --quiet \
  --out "$dir/tuned.json" >/dev/null
"$bin" report "$dir/run.json" --html "$dir/page.html" --tuning "$dir/tuned.json"
python3 - "$dir" <<'PY'
import collections, json, re, sys
d = sys.argv[1]
run = json.load(open(f"{d}/run.json")); tuned = json.load(open(f"{d}/tuned.json"))
page = open(f"{d}/page.html").read()
count = collections.Counter(re.findall(r'<(?:rect|circle) class="([a-z-]+)"', page))
cells = run["results"]; R = run["config"]["ranks"]; E = run["config"]["model"]["experts"]
for phase in ("gate", "permute", "dispatch", "expert", "combine", "unpermute", "sync"):
    assert count[f"phase-{phase}"] == len(cells), (phase, count)
assert count["heat-cell"] == len(cells) * (R * R + E * E), count
assert count["group-outline"] == len(cells) * R, count
assert count["bar-expert"] == len(cells) * E and count["bar-rank"] == len(cells) * R, count
assert count["bar-efficiency"] == len(cells) * 3, count
assert count["scatter-point"] == len(tuned["validation"]["points"]), count
assert "http://" not in page and "https://" not in page and "<script" not in page
print("ok: page has", sum(count.values()), "SVG shapes for", len(cells), "cells")
PY
browser="$(command -v chromium || command -v chromium-browser || true)"
if [ -z "$browser" ]; then
  echo "SKIPPED: no chromium to render the page"
  exit 0
fi
timeout 120 "$browser" --headless=new --no-sandbox --disable-gpu --hide-scrollbars \
  --window-size=1400,2400 --screenshot="$dir/page.png" "file://$dir/page.html" >/dev/null 2>&1 || true
python3 - "$dir/page.png" <<'PY'
import struct, sys, zlib
data = open(sys.argv[1], "rb").read()
assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
width, height = struct.unpack(">II", data[16:24])
# Decompress the image data and check it is not one flat colour (something was drawn).
chunks, i = b"", 8
while i < len(data):
    n = struct.unpack(">I", data[i:i + 4])[0]; kind = data[i + 4:i + 8]
    if kind == b"IDAT": chunks += data[i + 8:i + 8 + n]
    i += 12 + n
raw = zlib.decompress(chunks)
# Filtered scanlines: a blank page gives a handful of byte values, a drawn one (text, colours) many.
assert len(set(raw)) > 32, ("the rendered page is blank", len(set(raw)))
print(f"ok: rendered {width}x{height} PNG, {len(data)} bytes")
PY
