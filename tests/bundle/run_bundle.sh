#!/usr/bin/env bash
# The GPU bundle (scripts/gpu_bundle.sh) runs without this machine's Open MPI and libraries: it is
# built into a temporary directory and run in a private mount namespace where
#   - the multiarch library directory (/usr/lib/x86_64-linux-gnu, which /lib points into) holds
#     only glibc and what the shell tools used here need (no Open MPI, PMIx, OpenBLAS, hwloc,
#     METIS, libstdc++, libgfortran, libevent, ...), as on a bare target;
#   - /usr/share/openmpi and /etc/openmpi are empty, and the host's orterun (mpirun, mpiexec),
#     orted and ompi_info cannot be executed;
#   - the environment is empty but for PATH=/usr/bin:/bin, HOME and TMPDIR, then env.sh.
# There, from a directory without data: (1) c2rbench run --check as a singleton (its MPI_Init
# forks the bundled orted), (2) the same under the bundled mpirun -np 2, (2b) an mpirun error
# message read from the bundled help files, (3) c2r_gpu_tests (pass or skip) and
# c2rbench_gpu_kernels (0, or 2 without a device), where built. Every shared object any of them
# loads (LD_DEBUG=libs) must come from the bundle, the CUDA toolkit (standing in for the target's)
# or glibc. About 20-30 s (most of it copying the ~60 MB bundle).
# Usage: run_bundle.sh BUILD_DIR   (root; exit 77 with a SKIPPED line where unshare -m is refused)
set -uo pipefail
[ $# -eq 1 ] || { echo "usage: run_bundle.sh BUILD_DIR" >&2; exit 2; }
build="$(cd "$1" && pwd)" || exit 2
root="$(cd "$(dirname "$0")/../.." && pwd)"

skip() { echo "SKIPPED: $*"; exit 77; }
[ "$(id -u)" -eq 0 ] || skip "bundle isolation test needs root (mount namespace)"
unshare -m --propagation private true 2> /dev/null || skip "unshare -m is not permitted here"
[ -x "$build/c2rbench" ] || { echo "FAIL: no $build/c2rbench"; exit 1; }

tmp="$(mktemp -d /tmp/c2r-bundle-test.XXXXXX)"
# The mounts live and die with the namespace's processes; only files remain to remove
# (C2R_BUNDLE_TEST_KEEP=1 keeps them, for a look at the logs).
if [ -n "${C2R_BUNDLE_TEST_KEEP:-}" ]; then
  trap 'echo "kept: $tmp"' EXIT
else
  trap 'rm -rf "$tmp"' EXIT
fi
fail() { echo "FAIL: $*"; exit 1; }

if ! "$root/scripts/gpu_bundle.sh" --no-archive "$build" "$tmp/bundle" > "$tmp/bundle.log" 2>&1; then
  cat "$tmp/bundle.log"; fail "gpu_bundle.sh failed"
fi
bundle="$tmp/bundle"

# The directory glibc lives in (Debian/Ubuntu: /usr/lib/x86_64-linux-gnu, /lib -> usr/lib).
libc="$(ldd /bin/sh | awk '$1 == "libc.so.6" {print $3}')"
[ -n "$libc" ] || fail "cannot find libc.so.6"
multiarch="$(dirname "$(realpath "$libc")")"
loader="$(realpath /lib64/ld-linux-x86-64.so.2)"
[ "$(dirname "$loader")" = "$multiarch" ] || fail "the loader $loader is not in $multiarch"

# A minimal multiarch directory: glibc's libraries and the ones the tools run inside need, less
# anything the bundle ships (so the bundle's copies, or its compat ones, must be the ones used).
glibc="ld-linux-x86-64.so.2 libc.so.6 libm.so.6 libmvec.so.1 libpthread.so.0 libdl.so.2 librt.so.1
  libresolv.so.2 libutil.so.1 libanl.so.1 libnss_files.so.2 libnss_dns.so.2"
mkdir -p "$tmp/minlib" "$tmp/empty" "$tmp/work" "$tmp/home" "$tmp/sess" "$tmp/ld"
for n in $glibc; do
  [ -e "$multiarch/$n" ] && cp -L "$multiarch/$n" "$tmp/minlib/$n"
done
shipped=" $(cd "$bundle/lib" && find . -name '*.so*' -printf '%f ') "
tools="bash env cat grep sed mkdir rm ls timeout head tail sort uniq wc tr cmp cut dirname basename
  readlink realpath id awk"
for t in $tools; do
  p="$(command -v "$t")" || continue
  while read -r so arrow path _; do
    [ "$arrow" = "=>" ] && [ -e "$path" ] || continue
    case "$shipped" in *" $so "*) continue ;; esac
    [ -e "$tmp/minlib/$so" ] || cp -L "$path" "$tmp/minlib/$so"
  done < <(ldd "$p" 2> /dev/null)
done
printf '#!/bin/false\n' > "$tmp/noexec"   # mounted over the host's Open MPI programs

cuda_dir="$(realpath /usr/local/cuda 2> /dev/null || echo /usr/local/cuda)"
cat > "$tmp/inner.sh" << INNER
set -uo pipefail
tmp="$tmp"; bundle="$bundle"; multiarch="$multiarch"
INNER
cat >> "$tmp/inner.sh" << 'INNER'
fail() { echo "FAIL: $*"; exit 1; }
# (mount itself needs libmount: the multiarch directory goes last.)
for d in /usr/share/openmpi /etc/openmpi /usr/share/pmix /usr/lib64/openmpi; do
  [ -d "$d" ] && { mount --bind "$tmp/empty" "$d" || fail "cannot hide $d"; }
done
for b in orterun orted ompi_info mpirun mpiexec; do
  p="$(realpath "/usr/bin/$b" 2> /dev/null)" || continue
  case "$p" in "$multiarch"/*) continue ;; esac
  [ -f "$p" ] && { mount --bind "$tmp/noexec" "$p" || fail "cannot hide $p"; }
done
mount --bind "$tmp/minlib" "$multiarch" || fail "cannot mount over $multiarch"
[ -z "$(ls -A "$multiarch/openmpi" 2> /dev/null)" ] || fail "the host's Open MPI is still visible"

. "$bundle/env.sh" 2> "$tmp/env.log" || fail "env.sh: $(cat "$tmp/env.log")"
cat "$tmp/env.log"
[ "$(command -v c2rbench)" = "$bundle/bin/c2rbench" ] || fail "c2rbench is $(command -v c2rbench)"
[ "$(command -v mpirun)" = "$bundle/bin/mpirun" ] || fail "mpirun is $(command -v mpirun)"
export OMPI_MCA_orte_tmpdir_base="$tmp/sess"
cd "$tmp/work"
args=(run --check --tokens 64 --hidden 64 --ffn 48 --iters 1 --warmup 1 --quiet)

# traced NAME COMMAND...: runs COMMAND with every loaded shared object logged under $tmp/ld/NAME.
traced() {
  local name="$1"; shift
  LD_DEBUG=libs LD_DEBUG_OUTPUT="$tmp/ld/$name" timeout 60 "$@" > "$tmp/$name.log" 2>&1
}

traced singleton c2rbench "${args[@]}" --out "$tmp/x1.json" \
  || { tail -n 30 "$tmp/singleton.log"; fail "(1) singleton c2rbench run --check"; }
grep -q "\"data_dir\": \"$bundle/share/c2rbench/data\"" "$tmp/x1.json" \
  || fail "(1) c2rbench did not read the bundled data: $(grep -o '"data_dir": "[^"]*"' "$tmp/x1.json")"
echo "ok (1): singleton c2rbench run --check, data from the bundle"

traced mpirun mpirun --allow-run-as-root --oversubscribe -np 2 c2rbench "${args[@]}" --out "$tmp/x2.json" \
  || { tail -n 30 "$tmp/mpirun.log"; fail "(2) mpirun -np 2 c2rbench run --check"; }
grep -q '"ranks": 2' "$tmp/x2.json" || fail "(2) the report does not say 2 ranks"
echo "ok (2): bundled mpirun -np 2 c2rbench run --check"

timeout 60 mpirun --allow-run-as-root -np 1 "$tmp/work/no-such-program" > "$tmp/help.log" 2>&1
if grep -q "couldn't open the help file" "$tmp/help.log" || ! grep -qi 'not find\|unable to\|could not' "$tmp/help.log"; then
  cat "$tmp/help.log"; fail "(2b) mpirun's error message did not come from the bundled help files"
fi
ompi_info --path pkglibdir --parsable 2> /dev/null | grep ":$bundle/lib/openmpi3$" > /dev/null \
  || fail "(2b) ompi_info: $(ompi_info --path all 2>&1 | head -n 20)"
echo "ok (2b): Open MPI's help text and component directory are the bundle's"

if [ -x "$bundle/bin/c2r_gpu_tests" ]; then
  traced gpu_tests c2r_gpu_tests || { tail -n 20 "$tmp/gpu_tests.log"; fail "(3) c2r_gpu_tests"; }
  grep -q 'PASSED\|SKIPPED' "$tmp/gpu_tests.log" || fail "(3) c2r_gpu_tests printed no result"
  echo "ok (3): c2r_gpu_tests: $(grep -c '^\[  SKIPPED \]' "$tmp/gpu_tests.log") skipped, $(grep -c '^\[       OK \]' "$tmp/gpu_tests.log") passed"
fi
if [ -x "$bundle/bin/c2rbench_gpu_kernels" ]; then
  traced gpu_kernels c2rbench_gpu_kernels; status=$?
  [ "$status" -eq 0 ] || [ "$status" -eq 2 ] || { tail -n 20 "$tmp/gpu_kernels.log"; fail "(3) c2rbench_gpu_kernels exit $status"; }
  echo "ok (3): c2rbench_gpu_kernels exit $status ($(tail -n 1 "$tmp/gpu_kernels.log"))"
fi
INNER

cat >> "$tmp/inner.sh" << INNER
cuda_dir="$cuda_dir"
glibc=" $(echo $glibc) "
INNER
cat >> "$tmp/inner.sh" << 'INNER'
# Every shared object loaded, by any process of the runs above (orted and the ranks included).
cat "$tmp"/ld/* 2> /dev/null | sed -n 's/.*calling init: \(.*\)$/\1/p' | sort -u > "$tmp/loaded.txt"
[ -s "$tmp/loaded.txt" ] || fail "LD_DEBUG logged nothing"
bad=""
while read -r so; do
  case "$so" in
    "$bundle"/*) continue ;;
    "$cuda_dir"/* | /usr/local/cuda/* | /usr/local/cuda-*/*) continue ;;
    "$multiarch"/* | /lib/x86_64-linux-gnu/* | /lib64/*)
      case "$glibc" in *" $(basename "$so") "*) continue ;; esac ;;
  esac
  bad="$bad $so"
done < "$tmp/loaded.txt"
[ -z "$bad" ] || fail "loaded from outside the bundle:$bad"
for want in lib/libmpi.so.40 lib/libopen-pal.so.40 lib/libpmix.so.2 lib/libopenblas.so.0 \
    lib/openmpi3/mca_pml_ob1.so lib/openmpi3/mca_btl_vader.so; do
  grep -qx "$bundle/$want" "$tmp/loaded.txt" || fail "$want was not loaded from the bundle"
done
echo "ok: $(wc -l < "$tmp/loaded.txt") shared objects loaded, all from the bundle, $cuda_dir or glibc"
INNER

env -i PATH=/usr/bin:/bin HOME="$tmp/home" TMPDIR="$tmp" \
  timeout 120 unshare -m --propagation private bash "$tmp/inner.sh"
status=$?
[ "$status" -eq 0 ] || { echo "FAIL: bundle run in the isolated namespace (exit $status)"; exit 1; }
echo "PASSED: the GPU bundle runs with the host's Open MPI and libraries hidden"
