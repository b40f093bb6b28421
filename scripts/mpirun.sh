#!/usr/bin/env bash
# mpirun with the flags a workstation or CI container needs: more ranks than cores, and root.
# Usage: scripts/mpirun.sh NP COMMAND [ARGS...]
set -euo pipefail
np="$1"; shift
flags=(--oversubscribe --bind-to none)
if [ "$(id -u)" -eq 0 ]; then flags+=(--allow-run-as-root); fi
exec mpirun "${flags[@]}" -np "$np" "$@"
