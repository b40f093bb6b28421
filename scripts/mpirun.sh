#!/usr/bin/env bash
# mpirun with the flags a workstation or CI container needs: more ranks than cores, and root.
# A stop signal (SIGINT, SIGTERM, SIGHUP) is passed to mpirun, which stops every rank, and this
# script then exits with 128 + the signal number, as c2rbench itself does (mpirun's own status
# after a signal is 1, the status of a failed --check).
# Usage: scripts/mpirun.sh NP COMMAND [ARGS...]
set -uo pipefail
np="$1"; shift
flags=(--oversubscribe --bind-to none)
if [ "$(id -u)" -eq 0 ]; then flags+=(--allow-run-as-root); fi
mpirun "${flags[@]}" -np "$np" "$@" <&0 &
pid=$!
stop() {
  kill -"$1" "$pid" 2>/dev/null
  wait "$pid"
  exit "$2"
}
trap 'stop INT 130' INT
trap 'stop TERM 143' TERM
trap 'stop HUP 129' HUP
wait "$pid"
