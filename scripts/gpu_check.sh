#!/usr/bin/env bash
# The device runbook: everything c2rbench's CUDA backend owes a machine with one NVIDIA GPU, in one
# call of at most 10 minutes, every log and report in one directory and a summary against the
# targets (README.md, "GPU kernels"):
#   1. build (scripts/build.sh, CUDA and NCCL found in /usr/local/cuda), or, on a machine that
#      cannot install the build's packages, the programs of a bundle made elsewhere
#      (scripts/gpu_bundle.sh; its env.sh sourced, which sets C2R_BUNDLE);
#   2. every GPU test with C2R_REQUIRE_GPU=1 (ctest -L gpu: a skip is a failure here);
#   3. `run --backend cuda --check` on one rank at a small shape under compute-sanitizer, memcheck
#      and racecheck (every strategy, both routings, LLaMA-MoE and Qwen with its shared expert);
#   4. the multi-rank device layouts at 2-4 ranks on the one GPU, where this c2rbench has
#      `--exchange mpi` (device rows staged through host memory over MPI; not representative
#      timings), else said to be owed;
#   5. c2rbench_gpu_kernels at both presets: grouped expert FFN (fp32, bf16) against a dense cuBLAS
#      GEMM pair of the same FLOPs, permute / unpermute against a device-to-device copy;
#   6. the PyTorch peer (scripts/pytorch_peer.sh) where python3 has torch with CUDA.
# Each step runs under its own time limit; a failed step is recorded and the next one still runs.
# Exit status: 0 when every step that ran passed, 1 when one failed, 77 when this machine has no
# usable CUDA device (nothing past the build is run).
# Usage: scripts/gpu_check.sh [OUT_DIR]   (default: $OUT where the device tool sets it, else
#        results/gpu-check-<time>)
set -uo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
out="${1:-${OUT:-$root/results/gpu-check-$(date +%Y%m%d-%H%M%S)}}"
mkdir -p "$out"
summary="$out/summary.md"
started=$SECONDS
failed=0

note() { echo "$*" | tee -a "$summary"; }
# step NAME LIMIT_S COMMAND...: runs COMMAND with its output in NAME.log, under a time limit.
step() {
  local name="$1" limit="$2" t0=$SECONDS status
  shift 2
  timeout "$limit" "$@" > "$out/$name.log" 2>&1
  status=$?
  if [ "$status" -eq 0 ]; then
    note "- $name: ok ($((SECONDS - t0)) s)"
  else
    failed=1
    note "- $name: FAILED, exit $status$([ "$status" -eq 124 ] && echo " (over ${limit} s)") ($((SECONDS - t0)) s); tail of $name.log:"
    tail -n 15 "$out/$name.log" | sed 's/^/      /' | tee -a "$summary"
  fi
  return "$status"
}

: > "$summary"
note "# c2rbench GPU check, $(date -u +%Y-%m-%dT%H:%M:%SZ)"
note "- git: $(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo unknown)"
note "- GPU: $(nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader 2>/dev/null || echo 'nvidia-smi: none')"

# 1. Build. scripts/build.sh installs the Debian packages where apt can; a machine that cannot
# fetch them runs a bundle's programs instead.
if [ -n "${C2R_BUNDLE:-}" ]; then
  bindir="$C2R_BUNDLE/bin"
  note "- programs: the bundle in $C2R_BUNDLE ($(head -n 1 "$C2R_BUNDLE/MANIFEST.txt" 2>/dev/null))"
else
  step build 420 "$root/scripts/build.sh" || { note "build failed: nothing else can run"; exit 1; }
  bindir="$root/build"
fi
bin="$bindir/c2rbench"
kernels="$bindir/c2rbench_gpu_kernels"
[ -x "$kernels" ] || { note "- no CUDA kernels in $bindir (built without nvcc): nothing to check"; exit 77; }

# Is there a device at all? The GPU tests' own verdict, without C2R_REQUIRE_GPU: a skip says no.
if ! "$kernels" --tokens 64 --iters 1 --warmup 0 > "$out/probe.log" 2>&1; then
  if grep -q "no CUDA device" "$out/probe.log"; then
    note "- no usable CUDA device on this machine: the runbook needs one (exit 77)"
    exit 77
  fi
  failed=1
  note "- device probe FAILED:"; sed 's/^/      /' "$out/probe.log" | tee -a "$summary"
fi

# 2. Every GPU test; a skip is a failure.
if [ -z "${C2R_BUNDLE:-}" ]; then
  C2R_REQUIRE_GPU=1 step gpu_tests 240 ctest --test-dir "$root/build" -L gpu --output-on-failure
  note "  $(grep -E 'tests passed|tests failed' "$out/gpu_tests.log" || echo 'no ctest summary')"
else  # the same tests, from the bundle's programs
  C2R_REQUIRE_GPU=1 step gpu_kernel_tests 120 "$bindir/c2r_gpu_tests"
  C2R_REQUIRE_GPU=1 step nccl_tests 60 "$bindir/c2r_nccl_tests"
  for np in 1 2; do
    C2R_REQUIRE_GPU=1 step "check_cuda_np$np" 120 "$root/tests/gpu/run_gpu_or_skip.sh" \
      "$root/tests/mpi/run_check.sh" "$bin" "$np" 12 --backend cuda --workload trace --tokens 64 \
      --hidden 64 --ffn 48 --iters 1 --warmup 1 --routing vanilla,c2r --top-t 1 \
      --strategy padded,dropless,dedup --placement contiguous,collab --capacity-factor 1.0
  done
fi

# 3. compute-sanitizer over the device layer, one rank, small shapes.
small=(--tokens 64 --hidden 64 --ffn 48 --iters 1 --warmup 1 --routing vanilla,c2r
  --strategy padded,dropless,dedup --placement contiguous --quiet --check)
if command -v compute-sanitizer > /dev/null 2>&1; then
  for tool in memcheck racecheck; do
    for preset in llama-moe-3.5b qwen1.5-moe-a2.7b; do
      shape=("${small[@]}" --top-t 1)
      [ "$preset" = qwen1.5-moe-a2.7b ] && shape=("${small[@]}" --top-t 30 --shared-ffn 40)
      step "sanitizer_${tool}_${preset}" 150 compute-sanitizer --tool "$tool" --error-exitcode 9 \
        "$bin" run --backend cuda --preset "$preset" "${shape[@]}" \
        --out "$out/sanitizer_${tool}_${preset}.json"
    done
  done
else
  note "- compute-sanitizer: not on PATH, not run"
fi

# 4. Multi-rank device layouts on one GPU.
if "$bin" run --help 2>/dev/null | grep -q -- "--exchange"; then
  for np in 2 3 4; do
    step "exchange_mpi_np$np" 120 "$root/scripts/mpirun.sh" --oversubscribe "$np" "$bin" run \
      --backend cuda --exchange mpi --experts 12 --workload random "${small[@]}" --top-t 1 --out "$out/exchange_mpi_np$np.json"
  done
else
  note "- --exchange mpi (2-4 ranks on one GPU): not in this c2rbench yet, not run"
fi

# 5. The kernels against their same-run ceilings, both presets, with the targets.
step gpu_kernels 240 "$kernels" --preset llama-moe-3.5b,qwen1.5-moe-a2.7b \
  --tokens 16384 --iters 20 --out "$out/gpu_kernels.json"
if [ -s "$out/gpu_kernels.json" ]; then
  python3 - "$out/gpu_kernels.json" <<'PY' | tee -a "$summary"
import json, sys
doc = json.load(open(sys.argv[1]))
targets = {"ffn_bf16": 0.70, "permute": 0.60, "unpermute": 0.60}
print(f"- kernels on {doc['device']} (efficiency = same-run ceiling time / kernel time):")
for r in doc["results"]:
    for kernel, target in targets.items():
        e = r[kernel]["efficiency"]
        print(f"  - {r['preset']} {kernel}: {100 * e:.1f}% (target {100 * target:.0f}%)"
              f" {'met' if e >= target else 'NOT met'}")
PY
fi

# 6. The PyTorch peer, where python3 has torch with CUDA.
if python3 -c "import torch, sys; sys.exit(0 if torch.cuda.is_available() else 1)" 2>/dev/null; then
  C2RBENCH="$bin" step pytorch_peer 240 "$root/scripts/pytorch_peer.sh" llama-moe-3.5b 16384 \
    "$out/peer" &&
    sed -n '/^# phase/,/^# c2rbench/p' "$out/pytorch_peer.log" | sed 's/^/    /' | tee -a "$summary"
else
  note "- PyTorch peer: python3 has no torch with CUDA, not run"
fi

note "- total: $((SECONDS - started)) s; $([ "$failed" -eq 0 ] && echo 'every step that ran passed' || echo 'FAILED steps above')"
exit "$failed"
