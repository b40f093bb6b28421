#!/usr/bin/env bash
# mpirun for one machine (a workstation, a CI container, one cluster node), with the binding a
# benchmark wants: each rank bound to its own cores when the ranks fit, never silently more ranks
# than cores.
#
# Usage: scripts/mpirun.sh [--oversubscribe] [--bind-to core|none] NP COMMAND [ARGS...]
#   Ranks fit when NP x (the command's --blas-threads, default 1) <= this machine's cores: each rank
#   is then bound to that many cores of its own (mpirun --map-by slot:PE=T --bind-to core), so the
#   timings never include two ranks time-sharing a core.
#   --oversubscribe  allow more ranks (x threads) than cores; they then run unbound and time-share
#                    the cores, which c2rbench run reports as a warning. Without it such a launch is
#                    refused, naming the counts.
#   --bind-to none   never bind, even when the ranks fit (for a machine shared with other jobs,
#                    such as tests run side by side); --bind-to core (the default) binds when they fit.
# Adds --allow-run-as-root when run as root. On a cluster, launch with the scheduler (srun; see
# examples/slurm/) or with mpirun and your site's hostfile instead.
#
# A stop signal (SIGINT, SIGTERM, SIGHUP) is passed to mpirun, which stops every rank, and this
# script then exits with 128 + the signal number, as c2rbench itself does (mpirun's own status
# after a signal is 1, the status of a failed --check).
set -uo pipefail

usage() {
  echo "usage: scripts/mpirun.sh [--oversubscribe] [--bind-to core|none] NP COMMAND [ARGS...]" >&2
  exit 2
}

oversubscribe=0
bind_to=core
while [ $# -gt 0 ]; do
  case "$1" in
    --oversubscribe) oversubscribe=1; shift ;;
    --bind-to)
      [ $# -ge 2 ] || usage
      case "$2" in core | none) bind_to="$2" ;; *) echo "mpirun.sh: --bind-to takes core or none, not '$2'" >&2; exit 2 ;; esac
      shift 2 ;;
    -h | --help) sed -n '2,21p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    -*) echo "mpirun.sh: unknown option '$1'" >&2; usage ;;
    *) break ;;
  esac
done
[ $# -ge 2 ] || usage
np="$1"; shift
if ! [[ "$np" =~ ^[1-9][0-9]*$ ]]; then
  echo "mpirun.sh: NP must be a positive number of ranks, not '$np'" >&2
  exit 2
fi

# OpenBLAS threads per rank: the command's --blas-threads (as "--blas-threads N" or "=N").
threads=1
previous=""
for arg in "$@"; do
  case "$arg" in --blas-threads=*) threads="${arg#--blas-threads=}" ;; esac
  if [ "$previous" = "--blas-threads" ]; then threads="$arg"; fi
  previous="$arg"
done
[[ "$threads" =~ ^[1-9][0-9]*$ ]] || threads=1

# Physical cores this process may run on: the CPUs in its affinity mask over hardware threads
# per core (Open MPI binds to whole cores).
cpus=$(nproc)
per_core=$(lscpu 2>/dev/null | awk -F: '/^Thread\(s\) per core/ {gsub(/ /, "", $2); print $2}')
[[ "${per_core:-}" =~ ^[1-9][0-9]*$ ]] || per_core=1
cores=$((cpus / per_core))
[ "$cores" -ge 1 ] || cores=1

flags=()
if [ $((np * threads)) -le "$cores" ] && [ "$bind_to" = core ]; then
  flags+=(--map-by "slot:PE=$threads" --bind-to core)
elif [ $((np * threads)) -le "$cores" ]; then
  flags+=(--bind-to none)
elif [ "$oversubscribe" -eq 1 ]; then
  flags+=(--oversubscribe --bind-to none)
else
  echo "mpirun.sh: $np ranks x $threads BLAS thread(s) need $((np * threads)) cores; this machine" \
    "has $cores. Pass --oversubscribe to run them time-sharing the cores (timings then include" \
    "that), or use fewer ranks or threads." >&2
  exit 2
fi
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
