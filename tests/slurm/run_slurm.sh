#!/usr/bin/env bash
# A real one-node Slurm cluster, private to this test: installs Debian's slurm-wlm, munge and the
# PMIx library Slurm's mpi/pmix plugin opens (libpmix-dev: the plugin dlopens the unversioned
# libpmix.so) when they are missing, starts munged, slurmctld and slurmd on this machine with every
# file in a temporary directory and ports of their own, and then:
#   1. srun --mpi=pmix -n 2 c2rbench run --check: exit 0, and the report says launcher "srun";
#   2. sbatch of a job script that runs the same under srun: job exit 0, its output checked;
#   3. bash -n on every examples/slurm/*.sbatch; cpu_run.sbatch and tune_cluster.sbatch submitted
#      for real with a small shape (their C2R_*ARGS), gpu_run.sbatch only parsed.
# Every daemon, and every process they started, is stopped and the directory removed on exit,
# failed or not. Prints "SKIPPED: <why>" and exits 77 where the packages cannot be installed (not
# root and no passwordless sudo, no network, apt fails) or where this is not Debian-like.
# Usage: run_slurm.sh C2RBENCH_BINARY
# Environment: C2R_SLURM_KEEP=1 keeps the temporary directory (logs) for inspection;
# C2R_SLURM_ENV_PROBE=1 prints the Slurm, PMIx and Open MPI variables an srun task starts with.
set -uo pipefail

if [ $# -ne 1 ]; then
  echo "usage: $0 C2RBENCH_BINARY" >&2
  exit 2
fi
bin="$(readlink -f "$1")"
here="$(cd "$(dirname "$0")" && pwd)"
source_dir="$(cd "$here/../.." && pwd)"
examples="$source_dir/examples/slurm"
[ -x "$bin" ] || { echo "FAIL: $1 is not an executable"; exit 1; }

skip() { echo "SKIPPED: $*"; exit 77; }
fail() { echo "FAIL: $*"; exit 1; }
t0=$SECONDS
say() { echo "[slurm-test +$((SECONDS - t0))s] $*"; }

# ---------------------------------------------------------------------------------------------
# Root: the daemons run as root (slurmd starts job steps as the submitting user). Without root,
# rerun this script through passwordless sudo, or skip.
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo > /dev/null 2>&1 && sudo -n true 2> /dev/null; then
    exec sudo -n --preserve-env=PATH,C2R_SLURM_KEEP,C2R_SLURM_ENV_PROBE bash "$0" "$bin"
  fi
  skip "not root and no passwordless sudo (the Slurm daemons must run as root)"
fi

# ---------------------------------------------------------------------------------------------
# Packages.
packages=(slurm-wlm munge libpmix-dev)
commands_present() {
  command -v slurmctld && command -v slurmd && command -v srun && command -v sbatch &&
    command -v munged && command -v mungekey && command -v python3
} > /dev/null 2>&1
pmix_plugin_present() {
  local dir
  for dir in /usr/lib/x86_64-linux-gnu/slurm-wlm /usr/lib/*/slurm-wlm /usr/lib64/slurm /usr/lib/slurm; do
    [ -e "$dir/mpi_pmix.so" ] && return 0
  done
  return 1
}
missing=()
if command -v dpkg-query > /dev/null 2>&1; then
  for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2> /dev/null | grep -q 'install ok installed' || missing+=("$p")
  done
elif ! commands_present || ! pmix_plugin_present; then
  skip "Slurm, munge or Slurm's PMIx plugin missing, and this is not a Debian-like system"
fi
if [ ${#missing[@]} -gt 0 ]; then
  command -v apt-get > /dev/null 2>&1 || skip "${missing[*]} not installed and no apt-get here"
  say "installing ${missing[*]}"
  install_log="$(mktemp)"
  apt_install() {
    DEBIAN_FRONTEND=noninteractive timeout 600 apt-get install -y -qq --no-install-recommends \
      "${missing[@]}" >> "$install_log" 2>&1
  }
  installed=0
  if apt_install; then
    installed=1
  # Only a missing or stale package list is worth an update (not a lock, a full disk, ...).
  elif grep -qE 'Unable to locate package|has no installation candidate|404 +Not Found|Failed to fetch' \
      "$install_log"; then
    say "apt-get install failed for lack of package lists: apt-get update"
    if DEBIAN_FRONTEND=noninteractive timeout 300 apt-get update -qq >> "$install_log" 2>&1 &&
        apt_install; then
      installed=1
    fi
  fi
  if [ $installed -eq 0 ]; then
    tail -n 5 "$install_log"
    rm -f "$install_log"
    skip "apt-get could not install ${missing[*]}"
  fi
  rm -f "$install_log"
  say "installed"
fi
commands_present || skip "slurm/munge commands missing after install"
pmix_plugin_present || fail "Slurm's mpi/pmix plugin (mpi_pmix.so) is not installed"
command -v mpirun > /dev/null 2>&1 || say "note: no mpirun on PATH (not needed: srun starts the ranks)"

# ---------------------------------------------------------------------------------------------
# Nothing of a surrounding job or launcher may leak in: srun inside a Slurm job would use that
# job, and a rank started by mpirun would hand its PMIx server to our ranks.
while IFS='=' read -r name _; do
  case "$name" in
    SLURM_* | SBATCH_* | SALLOC_* | SRUN_* | PMIX_* | PMI_* | OMPI_COMM_WORLD_* | OMPI_MCA_orte_* | OMPI_MCA_ess* | OMPI_MCA_pmix*)
      unset "$name" ;;
  esac
done < <(env)

# ---------------------------------------------------------------------------------------------
# The private cluster's directory. Cleanup stops exactly the processes of this cluster, found by
# two marks: every process started from here on (daemons, srun, tasks) carries
# C2R_SLURM_TEST_TAG in its environment, and slurmstepd, which daemonises away from slurmd and
# overwrites its environment with its title, holds the cluster's log file open.
tmp="$(mktemp -d /tmp/c2r-slurm.XXXXXX)" || fail "mktemp"
chmod 0755 "$tmp"
export C2R_SLURM_TEST_TAG="$tmp"
pids=()

# shellcheck disable=SC2317  # called from the EXIT trap
cluster_pids() {  # (run in a subshell: $(cluster_pids))
  local p fd
  unset C2R_SLURM_TEST_TAG  # not on the tr, grep and readlink run here
  for p in /proc/[0-9]*; do
    p="${p#/proc/}"
    [ "$p" = "$$" ] || [ "$p" = "$BASHPID" ] && continue
    if { tr '\0' '\n' < "/proc/$p/environ"; } 2> /dev/null | grep -qxF "C2R_SLURM_TEST_TAG=$tmp"; then
      echo "$p"
      continue
    fi
    for fd in /proc/"$p"/fd/*; do
      case "$(readlink "$fd" 2> /dev/null)" in
        "$tmp"/*) echo "$p"; break ;;
      esac
    done
  done
}

# shellcheck disable=SC2317  # the EXIT trap
cleanup() {
  local rc=$?
  trap - EXIT INT TERM HUP
  trap '' PIPE  # a closed output must not cut the cleanup short
  local i p alive left
  # Jobs first, while the daemons are there to end them (a step whose slurmd is gone hangs).
  if [ ${#pids[@]} -ge 3 ] && [ -f "${SLURM_CONF:-}" ]; then
    timeout 5 scancel --quiet --full "--user=$(id -un)" > /dev/null 2>&1
    for _ in $(seq 1 50); do
      [ -z "$(timeout 5 squeue -h -o %i 2> /dev/null)" ] && break
      sleep 0.2
    done
  fi
  # Daemons in reverse order of start, then anything of the cluster left (slurmstepd, tasks).
  for ((i = ${#pids[@]} - 1; i >= 0; i--)); do kill -TERM "${pids[i]}" 2> /dev/null; done
  for _ in $(seq 1 50); do
    alive=0
    for p in "${pids[@]}"; do kill -0 "$p" 2> /dev/null && alive=1; done
    [ "$alive" -eq 0 ] && break
    sleep 0.1
  done
  for p in "${pids[@]}"; do kill -KILL "$p" 2> /dev/null; done
  for p in "${pids[@]}"; do wait "$p" 2> /dev/null; done
  mapfile -t left < <(cluster_pids)
  if [ ${#left[@]} -gt 0 ]; then
    kill -TERM "${left[@]}" 2> /dev/null
    sleep 1
    mapfile -t left < <(cluster_pids)
    [ ${#left[@]} -gt 0 ] && kill -KILL "${left[@]}" 2> /dev/null
  fi
  if [ "$rc" -ne 0 ] && [ "$rc" -ne 77 ]; then
    for f in "$tmp"/log/*.log "$tmp"/munge/munged.out; do
      [ -s "$f" ] || continue
      echo "---- last lines of $f"
      tail -n 15 "$f"
    done
  fi
  if [ "${C2R_SLURM_KEEP:-0}" = 1 ]; then
    echo "kept $tmp"
  else
    rm -rf "$tmp"
  fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP
# COMMAND...: runs it in the background and waits, so that a signal to this script is handled
# at once (bash runs a trap only after a foreground command ends).
in_background() {
  "$@" &
  wait $!
}

mkdir -p "$tmp"/{munge,state,spool/"$(hostname -s)",log,run,work,pmix} || fail "mkdir in $tmp"
chmod 0700 "$tmp/munge"

# ---------------------------------------------------------------------------------------------
# munged, with its key, socket, pid and seed here (in the foreground, it logs to munged.out).
say "starting munged"
mungekey --create --keyfile="$tmp/munge/munge.key" > /dev/null 2>&1 ||
  dd if=/dev/urandom of="$tmp/munge/munge.key" bs=1024 count=1 status=none || fail "munge key"
chmod 0600 "$tmp/munge/munge.key"
socket="$tmp/munge/munge.socket"
munged --foreground --force --key-file="$tmp/munge/munge.key" --socket="$socket" \
  --pid-file="$tmp/munge/munged.pid" --seed-file="$tmp/munge/munged.seed" \
  > "$tmp/munge/munged.out" 2>&1 &
pids+=($!)
for _ in $(seq 1 50); do [ -S "$socket" ] && break; sleep 0.1; done
[ -S "$socket" ] || { cat "$tmp/munge/munged.out"; fail "munged did not start"; }
munge --socket="$socket" -n | unmunge --socket="$socket" > /dev/null 2>&1 || fail "munge round trip failed"

# ---------------------------------------------------------------------------------------------
# slurm.conf: this node, all its CPUs, one default partition, no cgroups, no accounting; tasks
# bound with sched_setaffinity (task/affinity), so that srun --cpu-bind works.
host="$(hostname -s)"
# The node as slurmd sees it (sockets, cores, threads: binding to cores needs the real layout);
# plain CPUs=$(nproc) if slurmd -C says nothing usable.
node_hw="$(slurmd -C 2> /dev/null | head -n 1 | tr ' ' '\n' |
  grep -E '^(CPUs|Boards|SocketsPerBoard|CoresPerSocket|ThreadsPerCore)=[0-9]+$' | tr '\n' ' ')"
cpus="$(sed -n 's/.*CPUs=\([0-9]*\).*/\1/p' <<< "$node_hw")"
if [ -z "$cpus" ]; then
  cpus="$(nproc)"
  node_hw="CPUs=$cpus"
fi
[ "$cpus" -ge 2 ] || skip "srun -n 2 needs 2 CPUs, this machine has $cpus"
read -r ctld_port slurmd_port < <(python3 -c '
import socket
s = [socket.socket() for _ in range(2)]
for x in s: x.bind(("127.0.0.1", 0))
print(*[x.getsockname()[1] for x in s])') || fail "no free ports"
export SLURM_CONF="$tmp/slurm.conf"
cat > "$SLURM_CONF" <<EOF
ClusterName=c2rtest
SlurmctldHost=$host(127.0.0.1)
SlurmctldPort=$ctld_port
SlurmdPort=$slurmd_port
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$socket
SlurmUser=root
SlurmdUser=root
StateSaveLocation=$tmp/state
SlurmdSpoolDir=$tmp/spool/%n
SlurmctldPidFile=$tmp/run/slurmctld.pid
SlurmdPidFile=$tmp/run/slurmd.pid
SlurmctldLogFile=$tmp/log/slurmctld.log
SlurmdLogFile=$tmp/log/slurmd.log
SlurmctldDebug=info
SlurmdDebug=info
ProctrackType=proctrack/linuxproc
TaskPlugin=task/affinity
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
SchedulerType=sched/builtin
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
MpiDefault=pmix
ReturnToService=2
MailProg=/bin/true
NodeName=$host NodeAddr=127.0.0.1 ${node_hw}RealMemory=100 State=UNKNOWN
PartitionName=c2r Nodes=$host Default=YES MaxTime=10 State=UP
EOF

# The mpi/pmix plugin's client directories (default /tmp/spmix_appdir_*) go here too.
echo "PMIxCliTmpDirBase=$tmp/pmix" > "$tmp/mpi.conf"

say "starting slurmctld and slurmd (ports $ctld_port, $slurmd_port)"
slurmctld -D -i -f "$SLURM_CONF" > "$tmp/log/slurmctld.out" 2>&1 &
pids+=($!)
slurmd -D -N "$host" -f "$SLURM_CONF" > "$tmp/log/slurmd.out" 2>&1 &
pids+=($!)

state=""
for _ in $(seq 1 60); do
  state="$(timeout 5 sinfo -h -N -n "$host" -o '%t' 2> /dev/null | head -n 1)"
  [ "$state" = idle ] && break
  sleep 0.5
done
[ "$state" = idle ] || fail "node $host not idle after 30 s (sinfo says '${state}')"
say "node $host idle ($cpus CPUs); srun --mpi=list: $(srun --mpi=list 2>&1 | tr -s ' \n' ' ')"

# ---------------------------------------------------------------------------------------------
shape=(--tokens 64 --hidden 64 --ffn 48 --iters 1 --warmup 1 --quiet)
check_report() {  # REPORT: ranks 2, launcher srun, every cell checked with no wrong row
  python3 - "$1" <<'PY'
import json, sys
report = json.load(open(sys.argv[1]))
ctx = report["context"]
assert ctx["launcher"] == "srun", f"launcher is {ctx['launcher']!r}, not 'srun'"
assert ctx["ranks"] == 2, f"{ctx['ranks']} ranks, not 2"
env = ctx["environment"]
assert "SLURM_STEP_ID" in env and "SLURM_JOB_ID" in env, "no SLURM_STEP_ID/SLURM_JOB_ID recorded"
assert report["results"], "no results"
for r in report["results"]:
    assert r["check"]["checked"] and r["check"]["wrong_rows"] == 0, f"wrong rows: {r['routing']} {r['strategy']} {r['placement']}"
print(f"ok: {sys.argv[1].rsplit('/', 1)[-1]}: launcher srun, 2 ranks, {len(report['results'])} cells checked, "
      f"job {env['SLURM_JOB_ID']} step {env['SLURM_STEP_ID']}")
PY
}

# JOBID SECONDS: waits (polling every 0.2 s) for a batch job to end; says its state and exit code;
# status 0 when it COMPLETED with exit code 0:0. (sbatch --wait polls at growing intervals, seconds
# apart; without accounting, scontrol keeps an ended job for MinJobAge, 300 s.)
wait_job() {
  local id="$1" limit="$2" line="" state="" code="" start=$SECONDS
  while [ $((SECONDS - start)) -lt "$limit" ]; do
    line="$(timeout 5 scontrol -o show job "$id" 2> /dev/null)"
    state="$(sed -n 's/.* JobState=\([A-Z_]*\) .*/\1/p' <<< "$line")"
    code="$(sed -n 's/.* ExitCode=\([0-9:]*\) .*/\1/p' <<< "$line")"
    case "$state" in
      COMPLETED | FAILED | CANCELLED | TIMEOUT | NODE_FAIL | OUT_OF_MEMORY | BOOT_FAIL | DEADLINE | PREEMPTED)
        echo "job $id: $state, exit code $code"
        [ "$state" = COMPLETED ] && [ "$code" = 0:0 ]
        return ;;
    esac
    sleep 0.2
  done
  echo "job $id: not ended after $limit s (state '${state}')"
  timeout 5 scancel "$id" 2> /dev/null
  return 1
}

if [ "${C2R_SLURM_ENV_PROBE:-0}" = 1 ]; then  # what a task of srun --mpi=pmix sees, before MPI_Init
  in_background timeout 30 srun --mpi=pmix -n 2 -l bash -c 'env | sort | grep -E "^(SLURM_(PROCID|LOCALID|NODEID|STEP_ID|STEPID|NTASKS|CPUS|CPU_BIND|JOB)|OMPI_|PMIX_|PMI_)"'
fi

# 1. Direct launch: srun starts the ranks, Open MPI initialises through Slurm's PMIx server.
say "srun --mpi=pmix -n 2 c2rbench run --check"
cd "$tmp/work" || fail "cd"
in_background timeout 60 srun --mpi=pmix -n 2 -t 2 "$bin" run --check "${shape[@]}" \
  --out "$tmp/work/srun.json" > "$tmp/work/srun.out" 2>&1
rc=$?
[ $rc -eq 0 ] || { tail -n 20 "$tmp/work/srun.out"; fail "srun exited $rc"; }
check_report "$tmp/work/srun.json" || fail "srun report"

# 2. A batch job whose step is srun.
say "sbatch: a job script running srun c2rbench run --check"
cat > "$tmp/work/job.sbatch" <<EOF
#!/usr/bin/env bash
#SBATCH -J c2r-check
#SBATCH -n 2
#SBATCH -t 2
#SBATCH -o $tmp/work/job.out
set -euo pipefail
echo "job \$SLURM_JOB_ID on \$SLURM_JOB_NODELIST, \$SLURM_NTASKS tasks"
srun --mpi=pmix "$bin" run --check ${shape[*]} --out "$tmp/work/job.json"
echo "job done"
EOF
job="$(timeout 10 sbatch --parsable "$tmp/work/job.sbatch" 2> "$tmp/work/sbatch.err")" ||
  { cat "$tmp/work/sbatch.err"; fail "sbatch refused the job"; }
wait_job "$job" 60 || { tail -n 20 "$tmp/work/job.out" 2> /dev/null; fail "the batch job failed"; }
grep -q '^job done$' "$tmp/work/job.out" || { tail -n 20 "$tmp/work/job.out"; fail "job output lacks 'job done'"; }
grep -q 'check: all cells match' "$tmp/work/job.out" || { tail -n 20 "$tmp/work/job.out"; fail "job output lacks the check line"; }
check_report "$tmp/work/job.json" || fail "sbatch report"

# 3. The examples: all parse; cpu_run.sbatch and tune_cluster.sbatch run for real, small.
say "examples/slurm: bash -n, and sbatch cpu_run.sbatch"
shopt -s nullglob
scripts=("$examples"/*.sbatch)
[ ${#scripts[@]} -gt 0 ] || fail "no examples/slurm/*.sbatch"
for s in "${scripts[@]}"; do
  bash -n "$s" || fail "$s does not parse"
done
if [ -f "$examples/cpu_run.sbatch" ]; then
  # The script's own resources (#SBATCH) are for a real machine: 2 tasks of 1 CPU here.
  job="$(cd "$tmp/work" && C2RBENCH="$bin" C2R_OUT="$tmp/work/cpu_run.json" \
    C2R_ARGS="--check ${shape[*]}" timeout 10 sbatch --parsable -N 1 -n 2 --ntasks-per-node=2 \
    -c 1 -t 2 -o "$tmp/work/cpu_run.out" "$examples/cpu_run.sbatch" 2> "$tmp/work/sbatch.err")" ||
    { cat "$tmp/work/sbatch.err"; fail "sbatch refused cpu_run.sbatch"; }
  wait_job "$job" 60 || { tail -n 20 "$tmp/work/cpu_run.out" 2> /dev/null; fail "cpu_run.sbatch failed"; }
  grep -q '^report: ' "$tmp/work/cpu_run.out" || { tail -n 20 "$tmp/work/cpu_run.out"; fail "cpu_run.sbatch did not finish"; }
  check_report "$tmp/work/cpu_run.json" || fail "cpu_run.sbatch report"
  # --cpu-bind=cores with one CPU per task: each rank on a CPU of its own.
  python3 - "$tmp/work/cpu_run.json" <<'PY' || fail "cpu_run.sbatch: ranks not bound to distinct CPUs"
import json, sys
ranks = json.load(open(sys.argv[1]))["context"]["rank_binding"]
sets = [r["binding"]["cpuset"] for r in ranks]
assert len(set(sets)) == len(sets) and all(r["binding"]["cores"] == 1 for r in ranks), f"cpusets {sets}"
print(f"ok: cpu_run.sbatch: ranks bound to CPUs {', '.join(sets)}")
PY
fi

if [ -f "$examples/tune_cluster.sbatch" ]; then
  say "sbatch tune_cluster.sbatch: topo, tune --cluster, run --placement"
  job="$(cd "$tmp/work" && C2RBENCH="$bin" C2R_MODEL_ARGS="--tokens 64 --hidden 64 --ffn 48" \
    C2R_TUNE_ARGS="--search-seconds 1 --quiet" C2R_RUN_ARGS="--check --iters 1 --warmup 1 --quiet" \
    timeout 10 sbatch --parsable -N 1 -n 2 --ntasks-per-node=2 -c 1 -t 3 \
    -o "$tmp/work/tune_cluster.out" "$examples/tune_cluster.sbatch" 2> "$tmp/work/sbatch.err")" ||
    { cat "$tmp/work/sbatch.err"; fail "sbatch refused tune_cluster.sbatch"; }
  wait_job "$job" 90 || { tail -n 20 "$tmp/work/tune_cluster.out" 2> /dev/null; fail "tune_cluster.sbatch failed"; }
  for f in "cluster-$job.json" "tuned-$job.json" "run-$job.json"; do
    python3 -c 'import json, sys; json.load(open(sys.argv[1]))' "$tmp/work/$f" 2> /dev/null ||
      { tail -n 20 "$tmp/work/tune_cluster.out"; fail "tune_cluster.sbatch: no valid $f"; }
  done
  check_report "$tmp/work/run-$job.json" || fail "tune_cluster.sbatch report"
fi

say "PASS"
exit 0
