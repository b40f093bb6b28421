#!/usr/bin/env bash
# Hostile input: every command of c2rbench given bad options, bad files, bad paths, a hostile
# environment, concurrent runs and signals. The policy asserted for every bad input:
#   - exit status 2 (option-parse errors too), within the time limit (no hang);
#   - exactly one line containing "c2rbench: error" on stderr (one rank speaks, also at 2 ranks),
#     matching the case's regex (the flag, the bad value or the file it names);
#   - no sanitizer "SUMMARY: ...Sanitizer" line;
#   - nothing created or changed: every case runs in a fresh directory as its cwd (with --out
#     pointing into it), whose tree (names, types, sizes, mtimes, modes) is compared before and
#     after; no results/ directory and no *.tmp.* file may appear.
# Positive controls (valid small commands) must exit 0, so refusing everything cannot pass.
#
# Usage: hostile_input.sh C2RBENCH SCRIPTS_DIR [CASE_REGEX]
#   CASE_REGEX selects cases by id (bash regex), e.g. 'file-placement' or '^path-'.
# Environment: HOSTILE_JOBS (cases run at once, default 4), HOSTILE_TIMEOUT (seconds one case may
# take, default 12), HOSTILE_KEEP=1 (keep the work directory and print where it is).
#
# Cases are one line each: c ID EXPECTED NP REGEX ARGS...
#   EXPECTED: 2 (refused), 0 (positive control) or nz (any non-zero status);
#   NP: 1 (a singleton, no mpirun), 2 (scripts/mpirun.sh 2), or mpmd (scripts/mpirun.sh 1 with
#   ": -np 1 ..." in ARGS);
#   ARGS placeholders: @D@ the case's directory, @OUT@ @D@/out.json, @F@ the fixtures, @BIN@ the
#   binary, @FF@ the byte 0xff.
#   Variables before `c`: S='shell code' prepares @D@ before the snapshot; STDOUT=closed|full;
#   PRE='env ...' prefixes the command; EXPECT_FILE=name must exist afterwards (positive
#   controls); SKIP_ROOT=1 skips the case when run as root; MAXS=seconds bounds the case's wall
#   time more tightly than HOSTILE_TIMEOUT (tripled for a sanitizer build).
set -uo pipefail
export LC_ALL=C

if [ $# -lt 2 ]; then
  echo "usage: $0 C2RBENCH SCRIPTS_DIR [CASE_REGEX]" >&2
  exit 2
fi
bin="$(readlink -f "$1")"
scripts="$(cd "$2" && pwd)"
filter="${3:-}"
jobs_max="${HOSTILE_JOBS:-4}"
limit="${HOSTILE_TIMEOUT:-12}"
[ -x "$bin" ] || { echo "FAIL: $bin is not an executable"; exit 1; }

work="$(mktemp -d "${TMPDIR:-/tmp}/c2r-hostile.XXXXXX")"
cleanup() {
  if [ "${HOSTILE_KEEP:-0}" = 1 ]; then
    rm -f "$work"/fixtures/*-huge.json
    echo "# kept: $work"
  else
    chmod -R u+rwX "$work" 2>/dev/null
    rm -rf "$work"
  fi
}
trap cleanup EXIT
F="$work/fixtures"
mkdir -p "$F" "$work/cases" "$work/logs" "$work/sessions" "$work/verdicts"
started=$(date +%s)

# Reading /dev/zero must not take the machine down: a bound on memory. AddressSanitizer reserves
# terabytes of address space, so an instrumented binary gets its own limits instead of ulimit -v.
if ldd "$bin" 2>/dev/null | grep -q libasan; then
  export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}hard_rss_limit_mb=2048:max_allocation_size_mb=2048"
  vlimit=unlimited
  slow=3
else
  vlimit=$((2 * 1024 * 1024))  # KiB
  slow=1
fi
is_root=0
[ "$(id -u)" -eq 0 ] && is_root=1

# ---------------------------------------------------------------------------------------------
# Fixtures: real files from fast runs, then mutated into invalid ones.

# A singleton process gets an Open MPI session directory of its own: concurrent singletons
# otherwise remove each other's shared session directory.
session() { mkdir -p "$work/sessions/$1" && echo "$work/sessions/$1"; }

make_fixtures() {
  local log="$work/logs/fixtures"
  (
    cd "$work" || exit 1
    export OMPI_MCA_orte_tmpdir_base
    OMPI_MCA_orte_tmpdir_base="$(session fixtures)"
    timeout 120 "$bin" run --hidden 32 --ffn 16 --tokens 16 --iters 3 --warmup 1 \
      --routing vanilla --strategy dropless,dedup --placement contiguous --workload random \
      --quiet --out "$F/report.json" &&
      timeout 120 "$bin" topo --repetitions 2 --out "$F/cluster.json" &&
      timeout 200 "$bin" tune --hidden 32 --ffn 16 --tokens 32 --workload random --layer 0 \
        --validate --iters 1 --warmup 1 --quiet --out "$F/tuning.json"
  ) >"$log" 2>&1 || { cat "$log"; echo "FAIL: could not make the fixtures"; exit 1; }

  mkfifo "$F/fifo.json"
  mkdir "$F/adir.json"
  ln -s loop.json "$F/loop.json"
  : >"$F/empty.json"
  python3 - "$F" <<'PY' || { echo "FAIL: python3 fixtures"; exit 1; }
import copy, json, os, struct, sys
F = sys.argv[1]
def p(name): return os.path.join(F, name)
def load(name):
    with open(p(name)) as f: return json.load(f)
def write(name, data):
    with open(p(name), "wb") as f: f.write(data if isinstance(data, bytes) else data.encode())
def dump(name, obj): write(name, json.dumps(obj))

report, tuning, cluster = load("report.json"), load("tuning.json"), load("cluster.json")
placement = {"schema": "c2rbench.placement", "schema_version": 1, "experts": 8, "ranks": 1,
             "expert_rank": [0] * 8}
dump("placement.json", placement)
dump("noread.json", placement)
trace = {"schema": "c2rbench.trace", "schema_version": 1, "experts": 8, "top_k": 2,
         "layers": [{"layer": 0, "expert_ids": [[0, 1], [2, 3], [5, 4], [7, 6]]}]}
dump("trace.json", trace)
docs = {"placement": placement, "cluster": cluster, "report": report, "tuning": tuning,
        "trace": trace}
other = {"placement": cluster, "cluster": placement, "report": tuning, "tuning": report,
         "trace": placement}
for kind, doc in docs.items():
    text = json.dumps(doc)
    write(kind + "-truncated.json", text[: len(text) // 2])
    write(kind + "-malformed.json", '{"oops" ' + text[1:])  # a key without its value
    dump(kind + "-schema.json", other[kind])          # another c2rbench schema
    dump(kind + "-array.json", [1, 2, 3])             # JSON of the wrong type
    d = copy.deepcopy(doc)                            # the right schema, a field of the wrong type
    if kind == "placement": d["expert_rank"] = "0,0,0,0,0,0,0,0"
    if kind == "cluster": d["ranks"] = "1"
    if kind == "report": d["results"] = {"cells": d["results"]}
    if kind == "tuning": d["layers"] = "0"
    if kind == "trace": d["layers"] = "0"
    dump(kind + "-fieldtype.json", d)
    d = copy.deepcopy(doc)                            # a non-UTF-8 byte inside a string
    if kind == "placement": d["note"] = "p@FF@"
    if kind == "cluster": d["places"][0]["host"] = "h@FF@st"
    if kind == "report": d["context"]["hosts"] = ["h@FF@st"]
    if kind == "tuning": d["model"]["preset"] = "llama@FF@"
    if kind == "trace": d["model"] = "m@FF@"
    write(kind + "-utf8.json", json.dumps(d).encode().replace(b"@FF@", b"\xff"))
    write(kind + "-huge.json", text)                  # valid JSON, then 300 MB (sparse)
    os.truncate(p(kind + "-huge.json"), 300 * 1024 * 1024)

# A trace whose layer is an .npy file (int32 [tokens, 2]), and .npy files it cannot read.
def npy(shape, values):
    header = "{'descr': '<i4', 'fortran_order': False, 'shape': (%d, %d), }" % shape
    header += " " * ((64 - (10 + len(header) + 1) % 64) % 64) + "\n"
    return (b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header.encode() +
            struct.pack("<%di" % len(values), *values))
write("trace-ids.npy", npy((2, 2), [0, 1, 3, 2]))
write("trace-ids-truncated.npy", npy((2, 2), [0, 1, 3, 2])[:-3])
write("trace-ids-range.npy", npy((2, 2), [0, 1, 3, 8]))
for name, npy_name in [("npy", "trace-ids.npy"), ("npy-truncated", "trace-ids-truncated.npy"),
                       ("npy-range", "trace-ids-range.npy"), ("npy-fifo", "fifo.json"),
                       ("npy-devzero", "/dev/zero"), ("npy-missing", "gone.npy"),
                       ("npy-dir", "adir.json")]:
    dump("trace-%s.json" % name, dict(trace, layers=[{"layer": 0, "expert_ids_npy": npy_name}]))

# Valid JSON, impossible values.
def variant(name, base, change):
    d = copy.deepcopy(base); change(d); dump(name, d)
def neg_time(d):
    layer = d["results"][0]["phases"]["layer"]
    layer["samples_us"] = [-5.0] * len(layer["samples_us"])
    for key in ("median_us", "mean_us", "min_us", "max_us", "p10_us", "p90_us", "p99_us"): layer[key] = -5.0
variant("report-negtime.json", report, neg_time)
variant("report-negranks.json", report, lambda d: (d["config"].update(ranks=-2), d["context"].update(ranks=-2)))
variant("report-neglayer.json", report, lambda d: d["results"][0].update(layer=-1))
variant("report-dupcell.json", report, lambda d: d["results"].append(copy.deepcopy(d["results"][0])))
variant("report-noresults.json", report, lambda d: d.update(results=[]))
variant("placement-twolayer0.json", placement, lambda d: d.update(layers=[
    {"layer": 0, "expert_rank": [0] * 8}, {"layer": 0, "expert_rank": [0] * 8}]))
variant("placement-neglayer.json", placement, lambda d: d.update(layers=[{"layer": -1, "expert_rank": [0] * 8}]))
variant("placement-negrank.json", placement, lambda d: d.update(expert_rank=[-1] + [0] * 7))
variant("placement-negexperts.json", placement, lambda d: d.update(experts=-8))
dump("placement-rank5.json", {"schema": "c2rbench.placement", "schema_version": 1, "experts": 8,
                              "ranks": 2, "expert_rank": [0, 0, 0, 0, 1, 1, 1, 5]})
def tuning_neg_time(d):
    d["validation"]["points"][0]["measured"]["layer_us"] = -10.0
    d["validation"]["points"][0]["predicted"]["layer_us"] = -10.0
    d["layers"][0]["predicted"]["tuned"]["layer_us"] = -10.0
variant("tuning-negtime.json", tuning, tuning_neg_time)
variant("tuning-duplayer.json", tuning, lambda d: d["layers"].append(copy.deepcopy(d["layers"][0])))
variant("tuning-negranks.json", tuning, lambda d: d.update(ranks=-1))
variant("cluster-negranks.json", cluster, lambda d: d.update(ranks=-1))
variant("cluster-negtime.json", cluster, lambda d: d["alltoall"].update(seconds=[-1.0] * len(d["alltoall"]["seconds"])))
variant("cluster-rank5.json", cluster, lambda d: d["places"][0].update(rank=5))
spec = {"schema": "c2rbench.cluster-spec", "schema_version": 1, "name": "two", "nodes": 1,
        "gpus_per_node": 2, "intra_node": {"latency_us": 10.0, "bandwidth_GBps": -450.0},
        "inter_node": {"latency_us": 20.0, "bandwidth_GBps": 50.0}, "expert_gemm_tflops": 989.0,
        "memory_GBps": 3350.0}
dump("spec-negbw.json", spec)
variant("spec-zeronodes.json", spec, lambda d: (d.update(nodes=0), d["intra_node"].update(bandwidth_GBps=450.0)))
PY
  chmod 000 "$F/noread.json"
}

# ---------------------------------------------------------------------------------------------
# The runner.

snap() { (cd "$1" && find . -printf '%p %y %s %T@ %m\n' | sort); }

# The first error line, or else the first line, of a log: printable, at most 150 characters.
excerpt() {
  local line
  line="$(grep -a -m1 -E 'error|Error|ERROR|not expected|required|Sanitizer' "$1" 2>/dev/null)"
  [ -n "$line" ] || line="$(grep -a -m1 . "$1" 2>/dev/null)"
  printf '%s' "$line" | tr -c '[:print:]' '?' | cut -c1-150
}

verdict() {  # ID ok|FAIL|skip TEXT
  printf '%s %s\n' "$2" "$3" >"$work/verdicts/$1"
  if [ "$2" = ok ]; then printf 'ok   %s %s\n' "$1" "$3"; else printf '%s %s: %s\n' "$2" "$1" "$3"; fi
}

# Processes still running in a case's directory (a killed job's ranks or daemons): killed, by
# process id, and reported.
leftovers() {
  local d="$1" found="" p
  sleep 1
  for p in /proc/[0-9]*; do
    if [ "$(readlink "$p/cwd" 2>/dev/null)" = "$d" ]; then found+=" ${p#/proc/}"; fi
  done
  if [ -n "$found" ]; then
    # shellcheck disable=SC2086
    kill -KILL $found 2>/dev/null
    echo "left processes running:$found"
  fi
}

run_case() {
  local id="$1" expect="$2" np="$3" regex="$4"
  shift 4
  local d="$work/cases/$id" out="$work/logs/$id.out" err="$work/logs/$id.err"
  mkdir -p "$d"
  if [ -n "${SKIP_ROOT:-}" ] && [ "$is_root" = 1 ]; then
    verdict "$id" skip "running as root: chmod does not keep root from reading or writing"
    return
  fi
  local -a args=() cmd=() pre=()
  local a
  for a in "$@"; do
    a="${a//@OUT@/$d/out.json}"
    a="${a//@D@/$d}"
    a="${a//@F@/$F}"
    a="${a//@BIN@/$bin}"
    a="${a//@FF@/$'\xff'}"
    args+=("$a")
  done
  if [ -n "${S:-}" ]; then
    (cd "$d" && eval "$S") >/dev/null 2>&1 || { verdict "$id" FAIL "setup failed: $S"; return; }
  fi
  local before after
  before="$(snap "$d")"
  case "$np" in
    1) cmd=("$bin" "${args[@]}") ;;
    mpmd) cmd=("$scripts/mpirun.sh" --oversubscribe --bind-to none 1 "$bin" "${args[@]}") ;;
    *) cmd=("$scripts/mpirun.sh" --oversubscribe --bind-to none "$np" "$bin" "${args[@]}") ;;
  esac
  if [ -n "${PRE:-}" ]; then
    read -ra pre <<<"$PRE"
    cmd=("${pre[@]}" "${cmd[@]}")
  fi
  local t0 t1 status to="$limit"
  # A case with a tighter bound is stopped soon after it.
  if [ -n "${MAXS:-}" ] && [ $((MAXS * slow + 2)) -lt "$limit" ]; then to=$((MAXS * slow + 2)); fi
  t0=$(date +%s%N)
  (
    cd "$d" || exit 99
    [ "$vlimit" = unlimited ] || ulimit -v "$vlimit"
    export OMPI_MCA_orte_tmpdir_base
    OMPI_MCA_orte_tmpdir_base="$(session "$id")"
    case "${STDOUT:-file}" in
      closed) exec timeout -k 3 "$to" "${cmd[@]}" >&- 2>"$err" ;;
      full) exec timeout -k 3 "$to" "${cmd[@]}" >/dev/full 2>"$err" ;;
      *) exec timeout -k 3 "$to" "${cmd[@]}" >"$out" 2>"$err" ;;
    esac
  )
  status=$?
  t1=$(date +%s%N)
  local secs why=() n stray left
  secs=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", (b - a) / 1e9 }')
  touch "$out" "$err"
  if [ "$status" = 124 ] || [ "$status" = 137 ]; then
    why+=("killed after ${to} s (a hang, or not refused before the work started)")
    left="$(leftovers "$d")"
    [ -z "$left" ] || why+=("$left")
  else
    case "$expect" in
      0) [ "$status" = 0 ] || why+=("exit $status, expected 0") ;;
      nz) [ "$status" != 0 ] || why+=("exit 0, expected non-zero") ;;
      *) [ "$status" = "$expect" ] || why+=("exit $status, expected $expect") ;;
    esac
    if [ -n "${MAXS:-}" ] && [ "$(awk -v a="$t0" -v b="$t1" -v m="$MAXS" -v k="$slow" 'BEGIN { print ((b - a) / 1e9 > m * k) ? 1 : 0 }')" = 1 ]; then
      why+=("took more than $((MAXS * slow)) s")
    fi
  fi
  if grep -aEq '^SUMMARY: [A-Za-z]+Sanitizer' "$err" "$out"; then why+=("sanitizer report"); fi
  n=$(grep -ac 'c2rbench: error' "$err")
  if [ "$expect" = 0 ]; then
    [ "$n" = 0 ] || why+=("$n error lines")
    if [ -n "${EXPECT_FILE:-}" ] && [ ! -s "$d/$EXPECT_FILE" ]; then
      why+=("no $EXPECT_FILE written")
    fi
  else
    [ "$n" = 1 ] || why+=("$n error lines, expected 1")
    if [ "$n" -ge 1 ] && ! grep -a 'c2rbench: error' "$err" | grep -aEq -- "$regex"; then
      why+=("message does not match /$regex/")
    fi
    after="$(snap "$d")"
    if [ "$before" != "$after" ]; then
      local changed
      changed="$(diff <(echo "$before") <(echo "$after") | sed -n 's/^[<>] \(.*\) [a-z] [0-9]* [0-9.]* [0-7]*$/\1/p' |
        sort -u | tr -c '[:print:]\n' '?' | cut -c1-60 | head -4 | tr '\n' ' ')"
      why+=("files changed: ${changed% }")
    fi
    [ ! -e "$d/results" ] || why+=("results/ created")
  fi
  stray="$(find "$d" -name '*.tmp.*' 2>/dev/null | head -2 | tr '\n' ' ')"
  [ -z "$stray" ] || why+=("temporary file left: ${stray% }")
  if [ ${#why[@]} -eq 0 ]; then
    verdict "$id" ok "(exit $status, $secs s)"
  else
    local text
    text="$(printf '%s; ' "${why[@]}")"
    verdict "$id" FAIL "${text%; } [exit $status, $secs s] stderr: $(excerpt "$err")"
  fi
}

declare -A seen=()
wait_for_slot() {
  while [ "$(jobs -rp | wc -l)" -ge "$jobs_max" ]; do wait -n; done
}
c() {
  local id="$1"
  [ -z "${seen[$id]:-}" ] || { echo "FAIL: case id $id used twice"; exit 1; }
  seen[$id]=1
  [[ "$id" =~ $filter ]] || return 0
  wait_for_slot
  run_case "$@" &
}

# ---------------------------------------------------------------------------------------------
# Special cases: concurrency, signals.

concurrent_runs() {
  local id=conc-two-runs
  [[ "$id" =~ $filter ]] || return 0
  local d="$work/cases/$id" s1 s2 why=() n
  mkdir -p "$d"
  local -a small=(run --hidden 32 --ffn 16 --tokens 16 --iters 1 --warmup 1 --routing vanilla
    --strategy dropless --placement contiguous --workload random --quiet)
  (cd "$d" && OMPI_MCA_orte_tmpdir_base="$(session "$id-a")" exec timeout 60 "$bin" "${small[@]}") \
    >"$work/logs/$id.a.out" 2>"$work/logs/$id.a.err" &
  local p1=$!
  (cd "$d" && OMPI_MCA_orte_tmpdir_base="$(session "$id-b")" exec timeout 60 "$bin" "${small[@]}") \
    >"$work/logs/$id.b.out" 2>"$work/logs/$id.b.err" &
  local p2=$!
  wait "$p1"; s1=$?
  wait "$p2"; s2=$?
  [ "$s1" = 0 ] && [ "$s2" = 0 ] || why+=("exit $s1 and $s2, expected 0 and 0")
  n=$(find "$d/results" -maxdepth 1 -name '*.json' ! -name '*.tmp.*' 2>/dev/null | wc -l)
  [ "$n" = 2 ] || why+=("$n reports under results/, expected 2")
  [ -z "$(find "$d" -name '*.tmp.*')" ] || why+=("temporary file left")
  if [ ${#why[@]} -eq 0 ]; then
    verdict "$id" ok "(two reports)"
  else
    local text
    text="$(printf '%s; ' "${why[@]}")"
    verdict "$id" FAIL "${text%; } stderr: $(excerpt "$work/logs/$id.a.err") | $(excerpt "$work/logs/$id.b.err")"
  fi
}

sigterm_run() {
  local id=sig-term-run
  [[ "$id" =~ $filter ]] || return 0
  local d="$work/cases/$id" why=() status stop left
  mkdir -p "$d"
  (
    cd "$d" || exit 99
    export OMPI_MCA_orte_tmpdir_base
    OMPI_MCA_orte_tmpdir_base="$(session "$id")"
    exec "$scripts/mpirun.sh" --oversubscribe --bind-to none 2 "$bin" run --hidden 256 --ffn 128 --tokens 256 --iters 100000 \
      --warmup 1 --routing vanilla --strategy dropless --placement contiguous --workload random \
      --quiet --out "$d/r.json"
  ) >"$work/logs/$id.out" 2>"$work/logs/$id.err" &
  local pid=$!
  sleep 4
  kill -0 "$pid" 2>/dev/null || why+=("the run ended before SIGTERM")
  kill -TERM "$pid" 2>/dev/null
  local t0 waited=0
  t0=$(date +%s%N)
  while kill -0 "$pid" 2>/dev/null && [ "$waited" -lt 100 ]; do sleep 0.1; waited=$((waited + 1)); done
  stop=$(awk -v a="$t0" -v b="$(date +%s%N)" 'BEGIN { printf "%.1f", (b - a) / 1e9 }')
  if kill -0 "$pid" 2>/dev/null; then
    why+=("still running 10 s after SIGTERM")
    kill -KILL "$pid" 2>/dev/null
  fi
  wait "$pid"
  status=$?
  case "$status" in
    0 | 1) why+=("exit $status, expected a status other than 0 and 1") ;;
  esac
  [ ! -e "$d/r.json" ] || why+=("report written")
  [ -z "$(find "$d" -name '*.tmp.*')" ] || why+=("temporary file left")
  left="$(leftovers "$d")"
  [ -z "$left" ] || why+=("$left")
  if [ ${#why[@]} -eq 0 ]; then
    verdict "$id" ok "(exit $status, stopped $stop s after SIGTERM)"
  else
    local text
    text="$(printf '%s; ' "${why[@]}")"
    verdict "$id" FAIL "${text%; } [exit $status, stopped after $stop s] stderr: $(excerpt "$work/logs/$id.err")"
  fi
}

# ---------------------------------------------------------------------------------------------
make_fixtures

MODEL="--hidden 32 --ffn 16 --workload random --quiet"
GRID="--routing vanilla --strategy dropless --placement contiguous"
LOOP="--tokens 16 --iters 1 --warmup 1"
RUN="run $MODEL $GRID $LOOP --out @OUT@"      # add the flag under test
RUN_NOLOOP="run $MODEL $GRID --out @OUT@"     # add --tokens/--iters/--warmup
RUN_NOGRID="run $MODEL $LOOP --out @OUT@"     # add --routing/--strategy/--placement
RUN_TRACE="run --hidden 32 --ffn 16 --quiet $GRID $LOOP --out @OUT@"  # LLaMA routing data
# Long enough that a refusal after the benchmark shows as a timeout.
LONG="run --hidden 256 --ffn 128 --tokens 256 --iters 100000 --warmup 1 $GRID --workload random --quiet"
TUNE="tune --hidden 32 --ffn 16 --tokens 16 --workload random --layer 0 --quiet"
TUNE_LONG="tune --hidden 256 --ffn 128 --tokens 256 --workload random --layer 0 --validate --iters 100000 --warmup 1 --quiet"
TOPO_LONG="topo --repetitions 100000"
CMP="compare @F@/report.json @F@/report.json"
HUGE='(too (large|big)|larger|size|limit|bytes|[0-9] ?[KMGT]i?B)'
X300="$(printf 'x%.0s' $(seq 300))"

# --- Numbers: finite and in range --------------------------------------------------------------
c opt-timeout-nan              2 1 '--timeout'          $RUN --timeout nan
c opt-timeout-inf              2 1 '--timeout'          $RUN --timeout inf
c opt-timeout-neg              2 1 '--timeout'          $RUN --timeout -1
c opt-timeout-nan-np2          2 2 '--timeout'          $RUN --timeout nan
c opt-capfactor-inf            2 1 '--capacity-factor'  $RUN --capacity-factor inf
c opt-capfactor-nan            2 1 '--capacity-factor'  $RUN --capacity-factor nan
c opt-capfactor-zero           2 1 '--capacity-factor'  $RUN --capacity-factor 0
c opt-capfactor-neg            2 1 '--capacity-factor'  $RUN --capacity-factor -1
c opt-strength-inf             2 1 '--cluster-strength' $RUN --cluster-strength inf
c opt-strength-nan             2 1 '--cluster-strength' $RUN --cluster-strength nan
c opt-strength-neg             2 1 '--cluster-strength' $RUN --cluster-strength -1
c opt-seed-neg                 2 1 '--seed'             $RUN --seed -1
c opt-tolerance-nan            2 1 '--tolerance'        $RUN --check --tolerance nan
c opt-tolerance-zero           2 1 '--tolerance'        $RUN --check --tolerance 0
c opt-min-time-nan             2 1 '--min-time'         $RUN --min-time nan
c opt-min-time-inf             2 1 '--min-time'         $RUN --min-time inf
c opt-min-time-neg             2 1 '--min-time'         $RUN --min-time -1
c opt-min-time-hour-plus       2 1 '--min-time'         $RUN --min-time 3600.5
c opt-max-iters-zero           2 1 '--max-iters'        $RUN --max-iters 0
c opt-max-iters-below-iters    2 1 '--max-iters'        $RUN_NOLOOP --tokens 16 --warmup 1 --iters 5 --min-time 1 --max-iters 4
c opt-iters-zero               2 1 '--iters'            $RUN_NOLOOP --tokens 16 --warmup 1 --iters 0
c opt-iters-neg                2 1 '--iters'            $RUN_NOLOOP --tokens 16 --warmup 1 --iters -3
c opt-iters-1e99               2 1 '--iters'            $RUN_NOLOOP --tokens 16 --warmup 1 --iters 1e99
c opt-iters-abc                2 1 '--iters'            $RUN_NOLOOP --tokens 16 --warmup 1 --iters abc
c opt-iters-intmax             2 1 '--iters'            $RUN_NOLOOP --tokens 16 --warmup 1 --iters 2147483648
c opt-warmup-zero              2 1 '--warmup'           $RUN_NOLOOP --tokens 16 --iters 1 --warmup 0
c opt-tokens-zero              2 1 '--tokens'           $RUN_NOLOOP --iters 1 --warmup 1 --tokens 0
c opt-tokens-neg               2 1 '--tokens'           $RUN_NOLOOP --iters 1 --warmup 1 --tokens -1
c opt-tokens-huge              2 1 '--tokens|memory'    $RUN_NOLOOP --iters 1 --warmup 1 --tokens 4611686018427387904
c opt-tune-tokens-huge         2 1 '--tokens|memory'    tune --hidden 64 --ffn 32 --tokens 4611686018427387904 --layer 0 --quiet --out @OUT@
c opt-hidden-zero              2 1 '--hidden'           run --hidden 0 --ffn 16 --workload random --quiet $GRID $LOOP --out @OUT@
c opt-ffn-zero                 2 1 '--ffn'              run --hidden 32 --ffn 0 --workload random --quiet $GRID $LOOP --out @OUT@
c opt-experts-7-np2            2 2 '--experts|7 experts' $RUN --experts 7
c opt-experts-zero             2 1 '--experts'          $RUN --experts 0
c opt-topk-zero                2 1 '--top-k'            $RUN --top-k 0
c opt-topk-over                2 1 '--top-k'            $RUN --top-k 9
c opt-hot-experts-zero         2 1 '--hot-experts'      run $GRID $LOOP --hidden 32 --ffn 16 --workload hot --hot-experts 0 --quiet --out @OUT@
c opt-blas-threads-zero        2 1 '--blas-threads'     $RUN --blas-threads 0
c opt-max-memory-zero          2 1 '--max-memory'       $RUN --max-memory 0
c opt-max-memory-neg           2 1 '--max-memory'       $RUN --max-memory -1
c opt-max-memory-abc           2 1 '--max-memory'       $RUN --max-memory abc
c opt-max-memory-1e400         2 1 '--max-memory'       $RUN --max-memory 1e400
c opt-compare-confidence-1.5   2 1 '--confidence'       $CMP --confidence 1.5
c opt-compare-confidence-nan   2 1 '--confidence'       $CMP --confidence nan
c opt-compare-resamples-zero   2 1 '--resamples'        $CMP --resamples 0
c opt-compare-resamples-1e12   2 1 '--resamples'        $CMP --resamples 1e12
c opt-compare-threshold-neg    2 1 '--threshold'        $CMP --threshold -5%
c opt-compare-threshold-abc    2 1 '--threshold'        $CMP --threshold abc
c opt-topo-repetitions-zero    2 1 '--repetitions'      topo --repetitions 0 --out @OUT@
c opt-topo-large-bytes-neg     2 1 '--large-bytes'      topo --large-bytes -1 --out @OUT@
c opt-topo-large-bytes-zero    2 1 '--large-bytes'      topo --large-bytes 0 --out @OUT@
c opt-topo-timeout-nan         2 1 '--timeout'          topo --timeout nan --out @OUT@
c opt-tune-max-imbalance-nan   2 1 '--max-imbalance'    $TUNE --out @OUT@ --max-imbalance nan
c opt-tune-max-drop-2          2 1 '--max-drop'         $TUNE --out @OUT@ --max-drop 2
c opt-tune-max-drop-nan        2 1 '--max-drop'         $TUNE --out @OUT@ --max-drop nan
c opt-tune-sample-tokens-zero  2 1 '--sample-tokens'    $TUNE --out @OUT@ --sample-tokens 0
c opt-tune-search-seconds-nan  2 1 '--search-seconds'   $TUNE --out @OUT@ --search-seconds nan
c opt-tune-search-seconds-neg  2 1 '--search-seconds'   $TUNE --out @OUT@ --search-seconds -1
c opt-tune-capfactors-empty    2 1 '--capacity-factors' $TUNE --out @OUT@ --capacity-factors 1.0,,2.0
c opt-tune-timeout-neg         2 1 '--timeout'          $TUNE --out @OUT@ --timeout -1
c opt-tune-iters-zero          2 1 '--iters'            $TUNE --out @OUT@ --validate --iters 0

# --- Lists: no empty items, no unknown names ----------------------------------------------------
c list-strategy-empties        2 1 '--strategy'         $RUN_NOGRID --routing vanilla --placement contiguous --strategy dedup,,dedup,
c list-strategy-comma          2 1 '--strategy'         $RUN_NOGRID --routing vanilla --placement contiguous --strategy ,
c list-strategy-empties-np2    2 2 '--strategy'         $RUN_NOGRID --routing vanilla --placement contiguous --strategy dedup,,dedup,
c list-routing-trailing        2 1 '--routing'          $RUN_NOGRID --strategy dropless --placement contiguous --routing vanilla,
c list-dtype-empty            2 1 '--dtype'            $RUN_NOGRID --routing vanilla --strategy dropless --placement contiguous --dtype bf16,,fp8
c list-dtype-twice            2 1 '--dtype'            $RUN_NOGRID --routing vanilla --strategy dropless --placement contiguous --dtype bf16,bf16
c unknown-dtype               2 1 'fp16'               $RUN_NOGRID --routing vanilla --strategy dropless --placement contiguous --dtype fp16
c unknown-dtype-np2           2 2 'fp16'               $RUN_NOGRID --routing vanilla --strategy dropless --placement contiguous --dtype fp16
c unknown-tune-dtype          2 1 'fp16'               tune --workload random --hidden 64 --ffn 32 --tokens 64 --layer 0 --dtype fp16 --out @OUT@
c list-overlap-zero           2 1 '--overlap'          $RUN_NOGRID --routing vanilla --strategy dropless --placement contiguous --overlap 0
c list-overlap-twice          2 1 '--overlap'          $RUN_NOGRID --routing vanilla --strategy dropless --placement contiguous --overlap 2,2
c list-overlap-huge           2 1 '--overlap'          $RUN_NOGRID --routing vanilla --strategy dropless --placement contiguous --overlap 65
c list-overlap-fraction       2 1 '--overlap'          $RUN_NOGRID --routing vanilla --strategy dropless --placement contiguous --overlap 1.5
c unknown-overlap-progress    2 1 'poll'               $RUN_NOGRID --routing vanilla --strategy dropless --placement contiguous --overlap 2 --overlap-progress poll
c list-tune-overlap-empty     2 1 '--overlap'          $TUNE --out @OUT@ --overlap 1,,2
c list-placement-empty         2 1 '--placement'        $RUN_NOGRID --routing vanilla --strategy dropless --placement contiguous,,collab
c list-top-t-empty             2 1 '--top-t'            $RUN_NOGRID --routing c2r --strategy dropless --placement contiguous --top-t 1,,3
c list-layer-empty             2 1 '--layer'            $RUN_TRACE --layer 0,,1
c list-rank-tokens-empty-np2   2 2 '--rank-tokens'      $RUN --rank-tokens 8,,8
c list-sweep-empty             2 1 '--sweep'            $RUN --sweep tokens=8,,16
c sweep-geometric-factor-one   2 1 '--sweep'            $RUN --sweep tokens=1:64:x1
c sweep-geometric-stop-2to63   2 1 '--sweep'            $RUN --sweep tokens=1:9223372036854775808:x2
c sweep-geometric-reversed     2 1 '--sweep'            $RUN --sweep tokens=64:1:x2
c list-tune-top-t-empty        2 1 '--top-t'            $TUNE --out @OUT@ --top-t 1,,3
c list-tune-layer-empty        2 1 '--layer'            tune --hidden 32 --ffn 16 --tokens 16 --quiet --out @OUT@ --layer 0,,1
c list-compare-phase-empty     2 1 '--phase'            $CMP --phase layer,,dispatch
c unknown-strategy             2 1 '--strategy|nosuch'  $RUN_NOGRID --routing vanilla --placement contiguous --strategy nosuch
c unknown-strategy-np2         2 2 '--strategy|nosuch'  $RUN_NOGRID --routing vanilla --placement contiguous --strategy nosuch
c unknown-routing              2 1 '--routing|nosuch'   $RUN_NOGRID --strategy dropless --placement contiguous --routing nosuch
c unknown-placement            2 1 '--placement|nosuch' $RUN_NOGRID --routing vanilla --strategy dropless --placement nosuch
c unknown-preset               2 1 '--preset|nosuch'    $RUN --preset nosuch
c unknown-workload             2 1 '--workload|nosuch'  run --hidden 32 --ffn 16 --quiet $GRID $LOOP --out @OUT@ --workload nosuch
c unknown-order                2 1 '--order|nosuch'     $RUN --order nosuch
c unknown-backend              2 1 '--backend|nosuch'   $RUN --backend nosuch
c unknown-fault                2 1 '--inject-fault'     $RUN --inject-fault bogus
c unknown-compare-format       2 1 '--format|nosuch'    $CMP --format nosuch
c unknown-compare-phase        2 1 '--phase|nosuch'     $CMP --phase nosuch
c unknown-tune-strategy        2 1 '--strategy|nosuch'  $TUNE --out @OUT@ --strategy nosuch
c unknown-tune-routing         2 1 '--routing|nosuch'   $TUNE --out @OUT@ --routing nosuch
c unknown-tune-order           2 1 '--order|nosuch'     $TUNE --out @OUT@ --validate --order nosuch

# --- Option parsing: exit 2 like any bad input; --help exits 0 -----------------------------------
c parse-run-unknown-flag       2 1 '--nosuch'           $RUN --nosuch
c parse-run-unknown-flag-np2   2 2 '--nosuch'           $RUN --nosuch
c parse-run-missing-value      2 1 '--iters'            $RUN_NOLOOP --tokens 16 --warmup 1 --iters
c parse-run-positional         2 1 'stray'              $RUN stray
c parse-tune-unknown-flag      2 1 '--nosuch'           $TUNE --out @OUT@ --nosuch
c parse-topo-abc               2 1 '--repetitions'      topo --repetitions abc --out @OUT@
c parse-compare-one-file       2 1 'compare|reports'    compare @F@/report.json
c parse-report-no-file         2 1 'report|reports'     report
c parse-no-subcommand          2 1 'subcommand|command' --quiet
c parse-unknown-subcommand     2 1 'nosuch'             nosuch
c parse-backends-extra         2 1 'extra|nosuch'       backends nosuch
c pos-help                     0 1 ''                   --help
c pos-run-help                 0 1 ''                   run --help

# --- File inputs: every reader, every kind of bad file -------------------------------------------
# reader -> the command reading the file (FILE is appended where the reader takes it).
declare -A READER=(
  [placement]="$RUN_NOGRID --routing vanilla --strategy dropless --placement"
  [cluster]="$TUNE --out @OUT@ --cluster"
  [report]="report"
  [compare]="compare @F@/report.json"
  [tuning]="report @F@/report.json --html @D@/page.html --tuning"
  [trace]="$RUN_TRACE --trace"
)
for reader in placement cluster report compare tuning trace; do
  schema=$reader
  [ "$reader" = compare ] && schema=report
  for kind in fifo devzero devnull dir loop missing noread empty truncated malformed array \
    fieldtype schema utf8 huge; do
    case "$kind" in
      fifo) file="$F/fifo.json" ;;
      devzero) file=/dev/zero ;;
      devnull) file=/dev/null ;;
      dir) file="$F/adir.json" ;;
      loop) file="$F/loop.json" ;;
      missing) file="$F/missing.json" ;;
      noread) file="$F/noread.json" ;;
      empty) file="$F/empty.json" ;;
      *) file="$F/$schema-$kind.json" ;;
    esac
    name="$(basename "$file" | sed 's/\./\\./g')"
    regex="$name"
    [ "$kind" = huge ] && regex="$name.*$HUGE|$HUGE.*$name"
    skip="" maxs=""
    [ "$kind" = noread ] && skip=1
    # Not a regular file: refused without reading it (reading /dev/zero never ends).
    [ "$kind" = devzero ] && maxs=3
    # shellcheck disable=SC2086
    SKIP_ROOT=$skip MAXS=$maxs c "file-$reader-$kind" 2 1 "$regex" ${READER[$reader]} "$file"
  done
done
c file-placement-fifo-np2      2 2 'fifo\.json'         ${READER[placement]} @F@/fifo.json
c file-placement-malformed-np2 2 2 'placement-malformed\.json' ${READER[placement]} @F@/placement-malformed.json
# Config files (--config TOML/INI, --config-from a report): every rank reads its own, and a file
# one rank refuses stops all of them.
c file-config-missing          2 1 'missing\.toml'      $RUN --config @F@/missing.toml
c file-config-missing-np2      2 2 'missing\.toml'      $RUN --config @F@/missing.toml
c file-config-fifo             2 1 'fifo\.json'         $RUN --config @F@/fifo.json
MAXS=3 \
c file-config-devzero          2 1 '/dev/zero'          $RUN --config /dev/zero
c file-config-dir              2 1 'adir\.json'         $RUN --config @F@/adir.json
S='printf "nosuch = 1\n" > c.toml' \
c file-config-unknown          2 2 "c\\.toml: unknown option 'nosuch'" $RUN --config @D@/c.toml
S='printf "seed = -1\n" > c.toml' \
c file-config-bad-value        2 2 'c\.toml.*--seed'   $RUN --config @D@/c.toml
c file-config-from-truncated   2 1 'report-truncated\.json' $RUN --config-from @F@/report-truncated.json
c file-config-from-malformed-np2 2 2 'report-malformed\.json' $RUN --config-from @F@/report-malformed.json
c file-config-from-devzero     2 1 '/dev/zero'          $RUN --config-from /dev/zero
S='printf "{\"schema\": \"c2rbench.report\", \"config\": {}}" > old.json' \
c file-config-from-no-options  2 1 'old\.json: records no options' $RUN --config-from @D@/old.json
EXPECT_FILE=out.json \
c pos-run-config-from          0 1 ''                   $RUN --config-from @F@/report.json
c file-cluster-malformed-np2   2 2 'cluster-malformed\.json' ${READER[cluster]} @F@/cluster-malformed.json
c file-compare-list-bad        2 1 'report-truncated\.json' compare @F@/report.json,@F@/report-truncated.json @F@/report.json
c file-compare-list-fifo       2 1 'fifo\.json'         compare @F@/report.json @F@/report.json,@F@/fifo.json
c file-report-second-bad       2 1 'report-malformed\.json' report @F@/report.json @F@/report-malformed.json
# A trace's .npy files: every one it names is read under the same policy, and named with the trace.
c file-trace-npy-truncated     2 1 'trace-ids-truncated\.npy: .*truncated file.*trace-npy-truncated\.json' ${READER[trace]} @F@/trace-npy-truncated.json
c file-trace-npy-truncated-np2 2 2 'trace-ids-truncated\.npy: .*truncated file' ${READER[trace]} @F@/trace-npy-truncated.json
c file-trace-npy-range         2 1 'trace-ids-range\.npy: row 1 holds expert 8, outside 0\.\.7' ${READER[trace]} @F@/trace-npy-range.json
c file-trace-npy-fifo          2 1 'fifo\.json.*trace-npy-fifo\.json' ${READER[trace]} @F@/trace-npy-fifo.json
MAXS=3 \
c file-trace-npy-devzero       2 1 '/dev/zero.*trace-npy-devzero\.json' ${READER[trace]} @F@/trace-npy-devzero.json
c file-trace-npy-missing       2 1 'file not found: .*gone\.npy' ${READER[trace]} @F@/trace-npy-missing.json
c file-trace-npy-dir           2 1 'adir\.json' ${READER[trace]} @F@/trace-npy-dir.json
c value-trace-layer            2 1 '--layer 3 is not in --trace .*trace\.json .its layers: 0.' ${READER[trace]} @F@/trace.json --layer 3
c value-trace-preset           2 1 'has 8 experts and top-2; --preset qwen1\.5-moe-a2\.7b has 60' ${READER[trace]} @F@/trace.json --preset qwen1.5-moe-a2.7b
c value-trace-workload         2 1 '--trace gives the routing of --workload trace' ${READER[trace]} @F@/trace.json --workload random
c opt-trace-empty              2 1 '--trace'                  ${READER[trace]} ''

# --- Valid JSON, impossible values ---------------------------------------------------------------
c value-report-negtime         2 1 'report-negtime\.json'     report @F@/report-negtime.json
c value-report-negranks        2 1 'report-negranks\.json'    report @F@/report-negranks.json
c value-report-neglayer        2 1 'report-neglayer\.json'    report @F@/report-neglayer.json
c value-report-dupcell         2 1 'report-dupcell\.json'     report @F@/report-dupcell.json
c value-report-noresults       2 1 'report-noresults\.json'   report @F@/report-noresults.json
c value-compare-negtime        2 1 'report-negtime\.json'     compare @F@/report.json @F@/report-negtime.json
c value-compare-dupcell        2 1 'report-dupcell\.json'     compare @F@/report.json @F@/report-dupcell.json
c value-compare-noresults      2 1 'report-noresults\.json'   compare @F@/report.json @F@/report-noresults.json
c value-html-negtime           2 1 'report-negtime\.json'     report @F@/report-negtime.json --html @D@/page.html
c value-placement-twolayer0    2 1 'placement-twolayer0\.json' ${READER[placement]} @F@/placement-twolayer0.json
c value-placement-neglayer     2 1 'placement-neglayer\.json'  ${READER[placement]} @F@/placement-neglayer.json
c value-placement-negrank      2 1 'placement-negrank\.json'   ${READER[placement]} @F@/placement-negrank.json
c value-placement-negexperts   2 1 'placement-negexperts\.json' ${READER[placement]} @F@/placement-negexperts.json
c value-placement-rank5-np2    2 2 'placement-rank5\.json'     ${READER[placement]} @F@/placement-rank5.json
c value-tuning-negtime         2 1 'tuning-negtime\.json'      ${READER[tuning]} @F@/tuning-negtime.json
c value-tuning-duplayer        2 1 'tuning-duplayer\.json'     ${READER[tuning]} @F@/tuning-duplayer.json
c value-tuning-negranks        2 1 'tuning-negranks\.json'     ${READER[tuning]} @F@/tuning-negranks.json
c value-run-tuning-duplayer    2 1 'tuning-duplayer\.json'     run $MODEL $LOOP --routing vanilla --strategy dropless --out @OUT@ --placement @F@/tuning-duplayer.json
c value-cluster-negranks       2 1 'cluster-negranks\.json'    ${READER[cluster]} @F@/cluster-negranks.json
c value-cluster-negtime        2 1 'cluster-negtime\.json'     ${READER[cluster]} @F@/cluster-negtime.json
c value-cluster-rank5          2 1 'cluster-rank5\.json'       ${READER[cluster]} @F@/cluster-rank5.json
c value-spec-negbw             2 1 'spec-negbw\.json'          ${READER[cluster]} @F@/spec-negbw.json
c value-spec-zeronodes         2 1 'spec-zeronodes\.json'      ${READER[cluster]} @F@/spec-zeronodes.json

# --- Routing data directory: refused, never replaced by synthetic routing ------------------------
DATA_FILE=reference/llama-moe-3.5b-vanilla.json
c data-missing                 2 1 'nodata'                   $RUN_TRACE --data-dir @D@/nodata
c data-missing-np2             2 2 'nodata'                   $RUN_TRACE --data-dir @D@/nodata
S='mkdir empty' \
c data-empty                   2 1 'empty'                    $RUN_TRACE --data-dir @D@/empty
S='echo x > notadir' \
c data-regular-file            2 1 'notadir'                  $RUN_TRACE --data-dir @D@/notadir
c data-devnull                 2 1 '/dev/null'                $RUN_TRACE --data-dir /dev/null
S="mkdir -p d/reference && mkfifo d/$DATA_FILE" \
c data-fifo                    2 1 'llama-moe-3\.5b-vanilla\.json' $RUN_TRACE --data-dir @D@/d
S="mkdir -p d/$DATA_FILE" \
c data-file-is-dir             2 1 'llama-moe-3\.5b-vanilla\.json' $RUN_TRACE --data-dir @D@/d
S="mkdir -p d/reference && printf '{\"layers\": [' > d/$DATA_FILE" \
c data-truncated               2 1 'llama-moe-3\.5b-vanilla\.json' $RUN_TRACE --data-dir @D@/d

# --- Output paths: refused before any benchmarking (the run would take minutes) ------------------
S='echo x > afile' \
c path-parent-is-file          2 1 'afile'                    $LONG --out @D@/afile/r.json
S='echo x > afile' \
c path-parent-is-file-np2      2 2 'afile'                    $LONG --out @D@/afile/r.json
c path-proc                    2 1 '/proc/c2r'                $LONG --out /proc/c2r/x
c path-long-name               2 1 'xxxxxxxxxx'               $LONG --out "@D@/$X300.json"
c path-trailing-slash          2 1 'newdir'                   $LONG --out @D@/newdir/
S='echo keep > r.json' \
c path-existing-file           2 1 'r\.json'                  $LONG --out @D@/r.json
c path-is-directory            2 1 '--out|directory'          $LONG --out @D@
c path-non-utf8                2 1 '--out|\.json'             $LONG --out @D@/@FF@.json
S='mkdir ro && chmod 555 ro' SKIP_ROOT=1 \
c path-read-only-dir           2 1 'ro'                       $LONG --out @D@/ro/r.json
S='echo x > afile' \
c path-tune-parent-is-file     2 1 'afile'                    $TUNE_LONG --out @D@/afile/t.json
c path-tune-non-utf8           2 1 '--out|\.json'             $TUNE_LONG --out @D@/@FF@.json
c path-tune-trailing-slash     2 1 'newdir'                   $TUNE_LONG --out @D@/newdir/
S='echo x > afile' \
c path-topo-parent-is-file     2 1 'afile'                    $TOPO_LONG --out @D@/afile/c.json
c path-topo-proc               2 1 '/proc/c2r'                $TOPO_LONG --out /proc/c2r/c.json
S='echo keep > c.json' \
c path-topo-existing-file      2 1 'c\.json'                  $TOPO_LONG --out @D@/c.json
S='echo keep > page.html' \
c path-html-existing           2 1 'page\.html'               report @F@/report.json --html @D@/page.html
S='echo x > afile' \
c path-html-parent-is-file     2 1 'afile'                    report @F@/report.json --html @D@/afile/p.html
c path-html-trailing-slash     2 1 'newdir'                   report @F@/report.json --html @D@/newdir/

# --- Environment ---------------------------------------------------------------------------------
STDOUT=closed \
c env-report-stdout-closed     nz 1 'stdout|standard output|output|write' report @F@/report.json
STDOUT=closed \
c env-backends-stdout-closed   nz 1 'stdout|standard output|output|write' backends
STDOUT=closed \
c env-compare-stdout-closed    nz 1 'stdout|standard output|output|write' $CMP
STDOUT=full \
c env-report-dev-full          nz 1 'stdout|standard output|output|write|space' report @F@/report.json
STDOUT=full \
c env-backends-dev-full        nz 1 'stdout|standard output|output|write|space' backends
PRE='env -u HOME' EXPECT_FILE=out.json \
c env-home-unset               0 1 ''                         $RUN

# --- Ranks launched with different configurations ------------------------------------------------
c mpmd-seed                    2 mpmd 'configuration|differ'  $RUN --seed 1 : -np 1 @BIN@ $RUN --seed 2
S='printf "seed = 3\n" > c.toml' \
c mpmd-config-missing-on-one   2 mpmd 'gone\.toml'            $RUN --config @D@/c.toml : -np 1 @BIN@ $RUN --config @D@/gone.toml
c mpmd-help-and-run            2 mpmd 'different commands'    run --help : -np 1 @BIN@ $RUN

# --- Positive controls ---------------------------------------------------------------------------
EXPECT_FILE=out.json \
c pos-run                      0 1 ''                         $RUN
EXPECT_FILE=out.json \
c pos-run-np2                  0 2 ''                         $RUN
EXPECT_FILE=out.json \
c pos-run-trace                0 1 ''                         $RUN_TRACE
EXPECT_FILE=out.json \
c pos-run-placement-file       0 1 ''                         ${READER[placement]} @F@/placement.json
EXPECT_FILE=out.json \
c pos-run-user-trace-npy       0 2 ''                         ${READER[trace]} @F@/trace-npy.json
c pos-report                   0 1 ''                         report @F@/report.json
c pos-compare                  0 1 ''                         $CMP
EXPECT_FILE=page.html \
c pos-report-html-tuning       0 1 ''                         ${READER[tuning]} @F@/tuning.json
EXPECT_FILE=out.json \
c pos-tune-cluster             0 1 ''                         ${READER[cluster]} @F@/cluster.json
EXPECT_FILE=out.json \
c pos-topo                     0 1 ''                         topo --repetitions 2 --out @OUT@
c pos-backends                 0 1 ''                         backends

wait
# Timing-sensitive cases, alone.
concurrent_runs
sigterm_run

# The fixtures are inputs only: nothing may have been written next to them.
if [ -n "$(find "$F" -name '*.tmp.*' 2>/dev/null)" ]; then verdict fixtures FAIL "temporary file next to the inputs"; fi

total=0 passed=0 failed=0 skipped=0
for f in "$work"/verdicts/*; do
  [ -e "$f" ] || continue
  total=$((total + 1))
  case "$(cut -d' ' -f1 "$f")" in
    ok) passed=$((passed + 1)) ;;
    skip) skipped=$((skipped + 1)) ;;
    *) failed=$((failed + 1)) ;;
  esac
done
echo "# hostile input: $total cases, $passed ok, $failed failed, $skipped skipped ($(($(date +%s) - started)) s)"
[ "$total" -gt 0 ] || { echo "FAIL: no case matched '$filter'"; exit 1; }
[ "$failed" -eq 0 ]
