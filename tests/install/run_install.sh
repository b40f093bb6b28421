#!/usr/bin/env bash
# `cmake --install`: installs the build into a temporary prefix, moves the prefix (so nothing can
# lean on the build or install path), and runs the installed c2rbench on the trace workload, which
# reads the reference data: the report must say it read the data installed beside the binary, and
# the prefix must hold the docs, examples, schemas and tools.
# Usage: run_install.sh BUILD_DIR SOURCE_DIR
set -euo pipefail
build="$1"; source="$2"
dir="$(mktemp -d)"
cmake --install "$build" --prefix "$dir/first" > "$dir/install.log"
mv "$dir/first" "$dir/moved"
prefix="$dir/moved"
for f in bin/c2rbench share/c2rbench/data/reference/llama-moe-3.5b-vanilla.json \
         share/c2rbench/schemas/report.schema.json share/c2rbench/examples/clusters \
         share/c2rbench/tools/routing_to_trace.py share/c2rbench/scripts/mpirun.sh \
         share/doc/c2rbench/README.md share/doc/c2rbench/REPORT.md; do
  [ -e "$prefix/$f" ] || { echo "FAIL: $f was not installed"; exit 1; }
done
cd "$dir"
"$source/scripts/mpirun.sh" --oversubscribe --bind-to none 1 "$prefix/bin/c2rbench" run --workload trace --tokens 8 --hidden 64 \
  --ffn 32 --iters 1 --warmup 1 --routing vanilla --strategy dropless --placement contiguous \
  --quiet --out report.json > /dev/null
python3 - report.json "$prefix/share/c2rbench/data" <<'PY'
import json, os, sys
used = json.load(open(sys.argv[1]))["config"]["data_dir"]
assert os.path.realpath(used) == os.path.realpath(sys.argv[2]), f"read {used}, not {sys.argv[2]}"
print(f"ok: the installed c2rbench, moved, read {used}")
PY
