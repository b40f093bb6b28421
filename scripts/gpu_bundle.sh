#!/usr/bin/env bash
# Packs a built c2rbench, with Open MPI (launcher, daemon, plugins, help files, config) and every
# shared library it needs beyond glibc and the NVIDIA driver, into one relocatable directory, for a
# machine that can run but not build c2rbench (a GPU machine with CUDA 13 and no Open MPI, OpenBLAS,
# hwloc or METIS, and no way to install them). There: source BUNDLE/env.sh and run c2rbench, mpirun
# and the GPU tests from BUNDLE/bin (see the README.txt written into the bundle).
#
# Usage: scripts/gpu_bundle.sh [--strip] [--no-archive] [--no-glibc-compat] BUILD_DIR BUNDLE_DIR
#        scripts/gpu_bundle.sh --unpack ARCHIVE DEST_DIR
#   BUILD_DIR    a build tree with c2rbench (and, where built, c2rbench_gpu_kernels,
#                c2rbench_kernels, tests/c2r_gpu_tests, tests/c2r_nccl_tests)
#   BUNDLE_DIR   created; an existing non-empty directory is refused
#   --strip      strip --strip-unneeded the project's own programs (smaller, but host backtraces,
#                gdb and compute-sanitizer's host frames lose function names); libraries are
#                copied as they are (Debian's are already stripped)
#   --no-archive leave out BUNDLE_DIR.tar.xz (by default written beside BUNDLE_DIR: the bundle is
#                ~60 MB as files, mostly OpenBLAS, but ~11 MB as .tar.xz, which is what should
#                travel; put it under an ignored path such as build-gpubundle/)
#   --no-glibc-compat  leave libraries that need glibc 2.36 only for arc4random as they are
#                (by default patched to load on glibc 2.35, Ubuntu 22.04: see below)
#   --unpack     unpacks such an archive into DEST_DIR (tar -xJ, or python3's tarfile where the
#                machine has no xz) and prints the path of the env.sh to source
#
# CUDA: cuBLAS (libcublas 54 MB, libcublasLt 540 MB) and NCCL (218 MB) are far too large to carry,
# so they are taken from the target (env.sh finds them in /usr/local/cuda, the system library
# directories or python's nvidia-* wheels); only libcudart (0.7 MB, the build's exact version) is
# bundled. The NVIDIA driver (libcuda, libnvidia-*) always comes from the target.
set -euo pipefail

die() { echo "gpu_bundle.sh: $*" >&2; exit 1; }
usage() {
  sed -n '8,25p' "$0" | sed 's/^# \{0,1\}//' >&2
  exit 2
}

strip_bins=0
archive=1
glibc_compat=1
unpack=0
while [ $# -gt 0 ]; do
  case "$1" in
    --strip) strip_bins=1; shift ;;
    --no-archive) archive=0; shift ;;
    --no-glibc-compat) glibc_compat=0; shift ;;
    --unpack) unpack=1; shift ;;
    -h | --help) usage ;;
    --) shift; break ;;
    -*) echo "gpu_bundle.sh: unknown option '$1'" >&2; usage ;;
    *) break ;;
  esac
done
[ $# -eq 2 ] || usage

# ---------------------------------------------------------------------------------------------
# --unpack ARCHIVE DEST: for the target machine (which may lack xz but has python3).
if [ "$unpack" -eq 1 ]; then
  archive_file="$1"; dest="$2"
  [ -f "$archive_file" ] || die "no archive '$archive_file'"
  mkdir -p "$dest"
  if command -v xz > /dev/null 2>&1; then
    tar -xJf "$archive_file" -C "$dest"
  elif command -v python3 > /dev/null 2>&1; then
    python3 -c 'import sys, tarfile
t = tarfile.open(sys.argv[1])
t.extractall(sys.argv[2], **({"filter": "data"} if hasattr(tarfile, "data_filter") else {}))' \
      "$archive_file" "$dest"
  else
    die "neither xz nor python3 here to unpack '$archive_file'"
  fi
  name="$(tar -tJf "$archive_file" 2> /dev/null | head -n 1 | cut -d/ -f1 || true)"
  [ -n "$name" ] || name="$(python3 -c 'import sys, tarfile; print(tarfile.open(sys.argv[1]).getnames()[0].split("/")[0])' "$archive_file")"
  env_sh="$(cd "$dest/$name" && pwd)/env.sh"
  [ -f "$env_sh" ] || die "unpacked, but $env_sh is missing"
  echo "$env_sh"
  exit 0
fi

build="$(cd "$1" && pwd)" || die "no build directory '$1'"
out="$2"
[ -x "$build/c2rbench" ] || die "$build/c2rbench is missing: build first"
if [ -e "$out" ] && [ -n "$(ls -A "$out" 2> /dev/null)" ]; then
  die "'$out' exists and is not empty; give a new directory"
fi
source_dir="$(sed -n 's/^CMAKE_HOME_DIRECTORY:INTERNAL=//p' "$build/CMakeCache.txt" 2> /dev/null || true)"
[ -n "$source_dir" ] || source_dir="$(cd "$(dirname "$0")/.." && pwd)"
[ -d "$source_dir/data/reference" ] || die "no reference data under $source_dir/data"
for tool in ldd objdump ompi_info orterun orted; do
  command -v "$tool" > /dev/null || die "'$tool' is not on PATH"
done

mkdir -p "$out"
out="$(cd "$out" && pwd)"
mkdir -p "$out"/{bin,lib/openmpi3,lib/pmix,lib/hwloc,lib/compat,share,etc/openmpi}
manifest="$out/MANIFEST.txt"
: > "$manifest"

# Libraries never bundled: glibc's own (the target's loader must match its libc), the NVIDIA
# driver's, and the CUDA libraries too large to carry (taken from the target; see env.sh).
is_system_lib() {
  case "$1" in
    ld-linux*.so* | libc.so.* | libm.so.* | libmvec.so.* | libpthread.so.* | libdl.so.* | librt.so.* \
      | libresolv.so.* | libutil.so.* | libanl.so.* | libBrokenLocale.so.* | libnss_*.so.* \
      | libthread_db.so.* | libc_malloc_debug.so.* | libmemusage.so | libpcprofile.so | linux-vdso.so.*)
      return 0 ;;
    libcuda.so* | libnvidia-*.so* | libnvcuvid.so* | libnvoptix.so*) return 0 ;;
    libcublas.so.* | libcublasLt.so.* | libnccl.so.*) return 0 ;;
  esac
  return 1
}
# Runtime libraries every Linux distribution has, which other programs run from the same shell also
# load: bundled under lib/compat/SONAME/ and put on the path by env.sh only where the target's copy
# is missing or lacks a symbol version the bundle needs (an older one); a newer one is kept.
is_compat_lib() {
  case "$1" in
    libstdc++.so.* | libgcc_s.so.* | libgfortran.so.* | libquadmath.so.* | libz.so.* | libudev.so.*) return 0 ;;
  esac
  return 1
}

# The ELF files copied so far, to scan for what they need.
declare -A copied_lib=()    # soname -> source path
elf_files=()

note() { printf '%s\n' "$*" >> "$manifest"; }

copy_elf() { # SRC DEST
  cp -L "$1" "$2"
  chmod u+w "$2"
  elf_files+=("$2")
  note "$(realpath "$1") -> ${2#"$out"/}"
}

# --- programs -------------------------------------------------------------------------------
programs=()
for p in c2rbench c2rbench_gpu_kernels c2rbench_kernels tests/c2r_gpu_tests tests/c2r_nccl_tests; do
  if [ -x "$build/$p" ]; then
    copy_elf "$build/$p" "$out/bin/$(basename "$p")"
    programs+=("$(basename "$p")")
    if [ "$strip_bins" -eq 1 ]; then strip --strip-unneeded "$out/bin/$(basename "$p")"; fi
  fi
done

# --- Open MPI -------------------------------------------------------------------------------
ompi_path() { ompi_info --parsable --path "$1" | sed -n "s/^path:$1://p" | head -n 1; }
ompi_bindir="$(ompi_path bindir)"
ompi_pkglibdir="$(ompi_path pkglibdir)"
ompi_pkgdatadir="$(ompi_path pkgdatadir)"
ompi_sysconfdir="$(ompi_path sysconfdir)"
ompi_version="$(ompi_info --version 2> /dev/null | sed -n 's/^Open MPI v//p' | head -n 1 || true)"
[ -d "$ompi_pkglibdir" ] || die "Open MPI's plugin directory '$ompi_pkglibdir' is missing"
# orterun is mpirun/mpiexec; a singleton MPI_Init (no mpirun) forks orted from Open MPI's bindir;
# ompi_info is there to check on the target where this Open MPI looks (ompi_info --path all).
for b in orterun orted ompi_info; do
  src="$ompi_bindir/$b"
  [ -x "$src" ] || src="$(command -v "$b")"
  copy_elf "$src" "$out/bin/$b"
done
ln -s orterun "$out/bin/mpirun"
ln -s orterun "$out/bin/mpiexec"

# Plugins (MCA components), less those for fabrics a one-node run never uses and that pull in
# their own stacks (libfabric, UCX, verbs, PSM), the OpenSHMEM frameworks (liboshmem), and any
# whose libraries are not on this machine.
skipped_components=()
for c in "$ompi_pkglibdir"/*.so; do
  name="$(basename "$c")"
  case "$name" in
    *ofi* | *ucx* | *openib* | *psm* | *verbs* | mca_atomic_* | mca_memheap_* | mca_scoll_* \
      | mca_spml_* | mca_sshmem_*)
      skipped_components+=("$name"); continue ;;
  esac
  if ldd "$c" 2> /dev/null | grep 'not found' > /dev/null; then skipped_components+=("$name"); continue; fi
  copy_elf "$c" "$out/lib/openmpi3/$name"
done
cp -a "$ompi_pkgdatadir" "$out/share/openmpi"
rm -f "$out/share/openmpi"/*wrapper-data.txt   # compiler wrappers: nothing to compile there
for f in "$ompi_sysconfdir"/*.conf "$ompi_sysconfdir"/openmpi-default-hostfile; do
  [ -f "$f" ] && cp "$f" "$out/etc/openmpi/"
done

# PMIx (external, Debian: /usr/lib/x86_64-linux-gnu/pmix2): the library comes with the dependency
# scan below; here its plugins, help files and MCA defaults.
pmix_lib="$(ldd "$ompi_pkglibdir"/mca_pmix_*.so 2> /dev/null | awk '$1 ~ /^libpmix\.so/ && $3 ~ /^\// {print $3; exit}')"
pmix_version=""
if [ -n "$pmix_lib" ]; then
  pmix_libdir="$(dirname "$(realpath "$pmix_lib")")"
  pmix_prefix="$(dirname "$pmix_libdir")"
  pmix_version="$(strings "$pmix_lib" 2> /dev/null | sed -n 's/^OpenPMIx \([0-9][^ ]*\).*/\1/p' | head -n 1 || true)"
  [ -n "$pmix_version" ] || pmix_version="(libpmix $(basename "$(realpath "$pmix_lib")"))"
  if [ -d "$pmix_libdir/pmix" ]; then
    for c in "$pmix_libdir"/pmix/*.so; do
      [ -e "$c" ] && copy_elf "$c" "$out/lib/pmix/$(basename "$c")"
    done
  fi
  [ -d "$pmix_prefix/share/pmix" ] && cp -a "$pmix_prefix/share/pmix" "$out/share/pmix"
  # Its MCA defaults, less the component path Debian writes there (env.sh sets the bundle's).
  for conf in "$pmix_prefix/share/pmix-mca-params.conf" "$pmix_prefix/etc/pmix-mca-params.conf"; do
    if [ -f "$conf" ]; then
      sed 's/^\([[:space:]]*mca_base_component_path[[:space:]]*=.*\)$/# (bundle: set by env.sh) \1/' \
        "$conf" > "$out/etc/pmix-mca-params.conf"
      break
    fi
  done
fi
[ -f "$out/etc/pmix-mca-params.conf" ] || : > "$out/etc/pmix-mca-params.conf"

# --- every shared library these need, to a fixed point ----------------------------------------
declare -A scanned=()
while :; do
  added=0
  for f in "${elf_files[@]}"; do
    [ -n "${scanned[$f]:-}" ] && continue
    scanned[$f]=1
    # "soname => /path (addr)"; a "not found" soname is fatal unless the target provides it.
    while read -r soname arrow path _; do
      [ "$arrow" = "=>" ] || continue
      is_system_lib "$soname" && continue
      [ -n "${copied_lib[$soname]:-}" ] && continue
      if [ "$path" = "not" ]; then die "$f needs $soname, which is not found on this machine"; fi
      copied_lib[$soname]="$path"
      if is_compat_lib "$soname"; then
        mkdir -p "$out/lib/compat/$soname"
        copy_elf "$path" "$out/lib/compat/$soname/$soname"
      else
        copy_elf "$path" "$out/lib/$soname"
      fi
      added=1
    done < <(ldd "$f" 2> /dev/null || true)
  done
  [ "$added" -eq 1 ] || break
done
[ -n "${copied_lib[libmpi.so.40]:-}" ] || die "c2rbench does not link libmpi.so.40: not an Open MPI 4 build?"

# (libcudart.so.13, small and tied to the build, is not in is_system_lib: bundled by the scan.)

# For each compat library, the symbol versions the bundle requires of it: env.sh keeps the
# target's copy when it has them all.
for d in "$out"/lib/compat/*/; do
  soname="$(basename "$d")"
  for f in "${elf_files[@]}"; do
    objdump -p "$f" 2> /dev/null | awk -v lib="$soname" '
      /^Version References:/ {refs = 1; next}
      refs && /required from/ {cur = $3; sub(/:$/, "", cur); next}
      refs && NF == 4 && cur == lib {print $4}'
  done | LC_ALL=C sort -u > "$d/VERSIONS"
done

# --- glibc 2.35 (Ubuntu 22.04) ------------------------------------------------------------------
# Debian 12's libevent (and libstdc++) call arc4random/arc4random_buf, new in glibc 2.36, so they
# would not load on glibc 2.35 ("version `GLIBC_2.36' not found"), and Open MPI with them. Where
# those are a library's only 2.36 symbols, its copy here is patched: the GLIBC_2.36 requirement is
# dropped and those symbols made unversioned (bound to libc's arc4random where glibc has it, 2.36+).
# For an older glibc the bundle carries lib/glibc-compat/libc2r_arc4random.so (arc4random* over
# getrandom), which env.sh preloads there.
glibc_compat_done=""
if [ "$glibc_compat" -eq 1 ] && command -v python3 > /dev/null && command -v cc > /dev/null; then
  mkdir -p "$out/lib/glibc-compat"
  cat > "$out/lib/glibc-compat/arc4random.c" << 'SHIM'
/* arc4random, arc4random_buf, arc4random_uniform (glibc 2.36) for an older glibc: getrandom(2). */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/random.h>
void arc4random_buf(void *buf, size_t n) {
  unsigned char *p = buf;
  while (n > 0) {
    ssize_t got = getrandom(p, n, 0);
    if (got < 0) {
      if (errno == EINTR) continue;
      abort();
    }
    p += got;
    n -= (size_t)got;
  }
}
uint32_t arc4random(void) {
  uint32_t v;
  arc4random_buf(&v, sizeof v);
  return v;
}
uint32_t arc4random_uniform(uint32_t upper) {
  if (upper < 2) return 0;
  uint32_t min = -upper % upper, r;
  do r = arc4random(); while (r < min);
  return r % upper;
}
SHIM
  cc -shared -fPIC -O2 -o "$out/lib/glibc-compat/libc2r_arc4random.so" \
    "$out/lib/glibc-compat/arc4random.c"
  for f in "${elf_files[@]}"; do
    objdump -T "$f" 2> /dev/null | grep 'GLIBC_2\.36' > /dev/null || continue
    if python3 - "$f" << 'PATCH'
# Drops a library's GLIBC_2.36 requirement and makes its arc4random* references unversioned, where
# those are its only GLIBC_2.36 symbols (exit 0; else 4, the file untouched). ELF64 little-endian.
import struct, sys
path = sys.argv[1]
data = bytearray(open(path, "rb").read())
if data[:4] != b"\x7fELF" or data[4] != 2 or data[5] != 1:
    sys.exit(4)
shoff = struct.unpack_from("<Q", data, 0x28)[0]
shentsize, shnum = struct.unpack_from("<HH", data, 0x3A)
secs = [struct.unpack_from("<IIQQQQIIQQ", data, shoff + i * shentsize) for i in range(shnum)]
def section(kind):
    found = [s for s in secs if s[1] == kind]
    return found[0] if found else None
dynsym, verneed, versym = section(11), section(0x6FFFFFFE), section(0x6FFFFFFF)
if not (dynsym and verneed and versym):
    sys.exit(4)
strtab = secs[dynsym[6]][4]
def name(off):
    start = strtab + off
    return bytes(data[start:data.index(b"\0", start)])
found = None  # (Verneed offset, previous Vernaux offset or None, its Vernaux offset, vna_next)
off = verneed[4]
for _ in range(verneed[7]):
    _, cnt, _, aux, nxt = struct.unpack_from("<HHIII", data, off)
    a, prev = off + aux, None
    for _ in range(cnt):
        _, _, other, vname, anext = struct.unpack_from("<IHHII", data, a)
        if name(vname) == b"GLIBC_2.36":
            if found:
                sys.exit(4)
            found = (off, prev, a, anext, other)
        if anext == 0:
            break
        prev, a = a, a + anext
    if nxt == 0:
        break
    off += nxt
if found is None:
    sys.exit(4)
vn, prev, cur, anext, wanted = found
hits = []
for i in range(dynsym[5] // 24):
    st_name, _, _, shndx, _, _ = struct.unpack_from("<IBBHQQ", data, dynsym[4] + 24 * i)
    if struct.unpack_from("<H", data, versym[4] + 2 * i)[0] & 0x7FFF == wanted:
        if shndx != 0 or name(st_name) not in (b"arc4random", b"arc4random_buf", b"arc4random_uniform"):
            sys.exit(4)
        hits.append(i)
# Unlink the GLIBC_2.36 Vernaux from its Verneed's chain (the loader follows vna_next).
if prev is None:
    if anext == 0:
        sys.exit(4)
    struct.pack_into("<I", data, vn + 8, struct.unpack_from("<I", data, vn + 8)[0] + anext)
else:
    pnext = struct.unpack_from("<I", data, prev + 12)[0]
    struct.pack_into("<I", data, prev + 12, 0 if anext == 0 else pnext + anext)
struct.pack_into("<H", data, vn + 2, struct.unpack_from("<H", data, vn + 2)[0] - 1)
for i in hits:
    struct.pack_into("<H", data, versym[4] + 2 * i, 1)  # VER_NDX_GLOBAL: any (the default) version
open(path, "wb").write(data)
PATCH
    then
      glibc_compat_done="$glibc_compat_done ${f#"$out"/}"
      note "patched for glibc < 2.36 (GLIBC_2.36 need dropped, arc4random* unversioned): ${f#"$out"/}"
    fi
  done
  [ -n "$glibc_compat_done" ] || rm -rf "$out/lib/glibc-compat"
fi

# The glibc each part needs (the highest GLIBC_ version it references): the bundle's own
# files, and each compat library (which env.sh uses only where the target's is missing or older).
glibc_floor() { # FILES... -> e.g. 2.34 (from the version references, which the loader checks)
  for f in "$@"; do objdump -p "$f" 2> /dev/null; done | grep -o 'GLIBC_[0-9][0-9.]*' \
    | sed 's/^GLIBC_//' | sort -u -V | tail -n 1
}
core_files=()
for f in "${elf_files[@]}"; do
  case "$f" in "$out"/lib/compat/*) ;; *) core_files+=("$f") ;; esac
done
glibc_core="$(glibc_floor "${core_files[@]}")"
echo "$glibc_core" > "$out/lib/GLIBC_REQUIRED"
glibc_core_users="$(n=0; for f in "${core_files[@]}"; do
    if [ "$(glibc_floor "$f")" = "$glibc_core" ]; then
      n=$((n + 1)); [ "$n" -le 4 ] && printf '%s ' "${f#"$out"/}"
    fi
  done; [ "$n" -gt 4 ] && printf 'and %d more' $((n - 4)); true)"
for d in "$out"/lib/compat/*/; do
  glibc_floor "$d"/*.so* > "$d/GLIBC_REQUIRED"
done

# --- data, env.sh, README ---------------------------------------------------------------------
# c2rbench reads its reference data from BIN/../share/c2rbench/data when that exists (the installed
# layout), so the bundle needs no --data-dir wherever it is unpacked.
mkdir -p "$out/share/c2rbench"
cp -a "$source_dir/data" "$out/share/c2rbench/data"
rm -rf "$out/share/c2rbench/data/__pycache__"

cat > "$out/env.sh" << 'ENVSH'
# Source this (bash): puts the bundled c2rbench, Open MPI and libraries first, and the target's
# cuBLAS and NCCL on the library path.   . /path/to/bundle/env.sh
# C2R_CUDA_LIBDIRS=dir1:dir2 (set before sourcing) names where libcublas.so.13, libcublasLt.so.13
# and libnccl.so.2 are, when they are nowhere this looks. C2R_BUNDLE_QUIET=1 silences the summary.
_c2rb_src="${BASH_SOURCE[0]:-$0}"
C2R_BUNDLE="$(cd "$(dirname "$_c2rb_src")" && pwd -P)"
export C2R_BUNDLE

# Library path: bundled libraries, then the compat copies the target lacks, then the CUDA libraries
# found on the target, then whatever was there before (less an earlier bundle's entries).
_c2rb_old=""
_c2rb_IFS="$IFS"; IFS=:
for _c2rb_d in ${LD_LIBRARY_PATH:-}; do
  case "$_c2rb_d" in "$C2R_BUNDLE"/* | "$C2R_BUNDLE" | "") continue ;; esac
  if [ -n "${C2R_BUNDLE_CUDA_DIRS:-}" ]; then
    case ":$C2R_BUNDLE_CUDA_DIRS:" in *":$_c2rb_d:"*) continue ;; esac
  fi
  _c2rb_old="${_c2rb_old:+$_c2rb_old:}$_c2rb_d"
done
IFS="$_c2rb_IFS"
_c2rb_sysdirs="/lib/x86_64-linux-gnu /usr/lib/x86_64-linux-gnu /lib64 /usr/lib64 /lib /usr/lib /usr/local/lib"
_c2rb_ld="$C2R_BUNDLE/lib"
_c2rb_compat=""
for _c2rb_d in "$C2R_BUNDLE"/lib/compat/*/; do
  [ -d "$_c2rb_d" ] || continue
  _c2rb_so="$(basename "$_c2rb_d")"
  _c2rb_sys=""
  for _c2rb_s in $_c2rb_sysdirs; do
    if [ -s "$_c2rb_s/$_c2rb_so" ]; then _c2rb_sys="$_c2rb_s/$_c2rb_so"; break; fi
  done
  _c2rb_use=0
  if [ -z "$_c2rb_sys" ]; then
    _c2rb_use=1
  elif [ -s "$_c2rb_d/VERSIONS" ] && LC_ALL=C tr '\0' '\n' < "$_c2rb_sys" 2> /dev/null \
      | LC_ALL=C grep -xF -f "$_c2rb_d/VERSIONS" | LC_ALL=C sort -u | LC_ALL=C cmp -s - "$_c2rb_d/VERSIONS"; then
    _c2rb_use=0   # the target's copy defines every version the bundle needs
  elif [ -s "$_c2rb_d/VERSIONS" ]; then
    _c2rb_use=1
  fi
  if [ "$_c2rb_use" -eq 1 ]; then
    _c2rb_ld="$_c2rb_ld:${_c2rb_d%/}"
    _c2rb_compat="$_c2rb_compat $_c2rb_so"
  fi
done

# CUDA libraries from the target: the first directory holding each.
_c2rb_cands=""
[ -n "${C2R_CUDA_LIBDIRS:-}" ] && _c2rb_cands="$(printf '%s' "$C2R_CUDA_LIBDIRS" | tr ':' ' ')"
[ -n "${CUDA_HOME:-}" ] && _c2rb_cands="$_c2rb_cands $CUDA_HOME/lib64 $CUDA_HOME/lib"
_c2rb_cands="$_c2rb_cands /usr/local/cuda/lib64 /usr/local/cuda/lib /usr/local/cuda/targets/x86_64-linux/lib"
for _c2rb_d in /usr/local/cuda-13*/lib64 /usr/local/cuda-13*/targets/x86_64-linux/lib; do
  [ -d "$_c2rb_d" ] && _c2rb_cands="$_c2rb_cands $_c2rb_d"
done
_c2rb_cands="$_c2rb_cands $_c2rb_sysdirs"
if command -v python3 > /dev/null 2>&1; then
  # pip's nvidia-* wheels (PyTorch's dependencies): nvidia/cu13/lib, nvidia/nccl/lib, ...
  _c2rb_py="$(python3 -c '
import glob, os
try:
    import nvidia
    for p in list(nvidia.__path__):
        for d in sorted(glob.glob(os.path.join(p, "*", "lib"))):
            print(d)
except Exception:
    pass' 2> /dev/null | tr '\n' ' ' || true)"
  _c2rb_cands="$_c2rb_cands $_c2rb_py"
fi
C2R_BUNDLE_CUDA_DIRS=""
_c2rb_missing=""
_c2rb_cudanote=""
for _c2rb_so in libcublas.so.13 libcublasLt.so.13 libnccl.so.2; do
  _c2rb_found=""
  # Prefer a directory already chosen (cuBLAS and cuBLASLt must be one release).
  for _c2rb_d in $(printf '%s' "$C2R_BUNDLE_CUDA_DIRS" | tr ':' ' ') $_c2rb_cands; do
    if [ -s "$_c2rb_d/$_c2rb_so" ]; then _c2rb_found="$_c2rb_d"; break; fi
  done
  if [ -z "$_c2rb_found" ]; then
    _c2rb_missing="$_c2rb_missing $_c2rb_so"
    continue
  fi
  _c2rb_cudanote="$_c2rb_cudanote $_c2rb_so=$_c2rb_found"
  case " $_c2rb_sysdirs " in *" $_c2rb_found "*) continue ;; esac   # found there by default
  case ":$C2R_BUNDLE_CUDA_DIRS:" in *":$_c2rb_found:"*) ;; *)
    C2R_BUNDLE_CUDA_DIRS="${C2R_BUNDLE_CUDA_DIRS:+$C2R_BUNDLE_CUDA_DIRS:}$_c2rb_found" ;;
  esac
done
export C2R_BUNDLE_CUDA_DIRS
[ -n "$C2R_BUNDLE_CUDA_DIRS" ] && _c2rb_ld="$_c2rb_ld:$C2R_BUNDLE_CUDA_DIRS"
export LD_LIBRARY_PATH="$_c2rb_ld${_c2rb_old:+:$_c2rb_old}"

case ":$PATH:" in *":$C2R_BUNDLE/bin:"*) ;; *) export PATH="$C2R_BUNDLE/bin:$PATH" ;; esac

# Open MPI (4.1, Debian's split layout) relocated into the bundle: its installation directories
# (the compiled-in ones are /usr, /usr/lib/x86_64-linux-gnu/openmpi/lib and /etc/openmpi).
export OPAL_PREFIX="$C2R_BUNDLE"
export OPAL_EXEC_PREFIX="$C2R_BUNDLE"
export OPAL_BINDIR="$C2R_BUNDLE/bin"                 # where a singleton MPI_Init finds orted
export OPAL_LIBDIR="$C2R_BUNDLE/lib"
export OPAL_PKGLIBDIR="$C2R_BUNDLE/lib/openmpi3"     # the MCA components
export OPAL_DATAROOTDIR="$C2R_BUNDLE/share"
export OPAL_DATADIR="$C2R_BUNDLE/share"
export OPAL_PKGDATADIR="$C2R_BUNDLE/share/openmpi"   # help messages
export OPAL_SYSCONFDIR="$C2R_BUNDLE/etc/openmpi"     # openmpi-mca-params.conf
export OMPI_MCA_mca_base_component_path="$C2R_BUNDLE/lib/openmpi3"
# PMIx (4.2, external: /usr/lib/x86_64-linux-gnu/pmix2 compiled in, and its MCA defaults name
# that component path).
export PMIX_PREFIX="$C2R_BUNDLE"
export PMIX_EXEC_PREFIX="$C2R_BUNDLE"
export PMIX_LIBDIR="$C2R_BUNDLE/lib"
export PMIX_PKGLIBDIR="$C2R_BUNDLE/lib/pmix"
export PMIX_DATAROOTDIR="$C2R_BUNDLE/share"
export PMIX_DATADIR="$C2R_BUNDLE/share"
export PMIX_PKGDATADIR="$C2R_BUNDLE/share/pmix"
export PMIX_SYSCONFDIR="$C2R_BUNDLE/etc"
export PMIX_MCA_mca_base_component_path="$C2R_BUNDLE/lib/pmix"
# hwloc: no plugins bundled; never load a target's (another hwloc's) ones.
export HWLOC_PLUGINS_PATH="$C2R_BUNDLE/lib/hwloc"

# glibc: what the bundle needs against what this machine has; below 2.36, arc4random* for the
# libraries patched to load without it (see README.txt).
_c2rb_glibc="$(getconf GNU_LIBC_VERSION 2> /dev/null | awk '{print $2}')"
[ -n "$_c2rb_glibc" ] || _c2rb_glibc="$(ldd --version 2> /dev/null | head -n 1 | awk '{print $NF}')"
_c2rb_older() { # A B: A is a lower version than B
  [ -n "$1" ] && [ -n "$2" ] && [ "$1" != "$2" ] \
    && [ "$(printf '%s\n%s\n' "$1" "$2" | sort -V | head -n 1)" = "$1" ]
}
_c2rb_glibc_warn=""
if [ -n "$_c2rb_glibc" ]; then
  _c2rb_need="$(cat "$C2R_BUNDLE/lib/GLIBC_REQUIRED" 2> /dev/null || true)"
  _c2rb_older "$_c2rb_glibc" "$_c2rb_need" && _c2rb_glibc_warn=" the bundle needs glibc >= $_c2rb_need;"
  for _c2rb_so in $_c2rb_compat; do
    _c2rb_need="$(cat "$C2R_BUNDLE/lib/compat/$_c2rb_so/GLIBC_REQUIRED" 2> /dev/null || true)"
    _c2rb_older "$_c2rb_glibc" "$_c2rb_need" \
      && _c2rb_glibc_warn="$_c2rb_glibc_warn $_c2rb_so (bundled: this machine has none or an older one) needs glibc >= $_c2rb_need;"
  done
  if [ -f "$C2R_BUNDLE/lib/glibc-compat/libc2r_arc4random.so" ] && _c2rb_older "$_c2rb_glibc" 2.36; then
    case ":${LD_PRELOAD:-}:" in *":$C2R_BUNDLE/lib/glibc-compat/libc2r_arc4random.so:"*) ;; *)
      export LD_PRELOAD="$C2R_BUNDLE/lib/glibc-compat/libc2r_arc4random.so${LD_PRELOAD:+:$LD_PRELOAD}" ;;
    esac
  fi
fi

if [ -z "${C2R_BUNDLE_QUIET:-}" ]; then
  echo "c2rbench bundle: $C2R_BUNDLE (PATH, LD_LIBRARY_PATH, OPAL_*, PMIX_* set)" >&2
  [ -n "$_c2rb_compat" ] && echo "  bundled runtime libraries used (target's missing or older):$_c2rb_compat" >&2
  [ -n "$_c2rb_cudanote" ] && echo "  CUDA libraries from the target:$_c2rb_cudanote" >&2
  case ":${LD_PRELOAD:-}:" in *":$C2R_BUNDLE/lib/glibc-compat/"*)
    echo "  glibc $_c2rb_glibc (< 2.36): LD_PRELOAD of the bundled arc4random" >&2 ;;
  esac
fi
if [ -n "$_c2rb_glibc_warn" ]; then
  echo "c2rbench bundle: WARNING: this machine's glibc is $_c2rb_glibc:$_c2rb_glibc_warn programs will fail" \
    "with \"version \`GLIBC_...' not found\"." >&2
fi
if [ -n "$_c2rb_missing" ]; then
  echo "c2rbench bundle: WARNING: not found on this machine:$_c2rb_missing; c2rbench and the GPU" \
    "tests will not start. Set C2R_CUDA_LIBDIRS=dir[:dir] and source env.sh again." >&2
fi
unset _c2rb_src _c2rb_old _c2rb_IFS _c2rb_d _c2rb_sysdirs _c2rb_ld _c2rb_compat _c2rb_so _c2rb_sys \
  _c2rb_s _c2rb_use _c2rb_cands _c2rb_py _c2rb_missing _c2rb_cudanote _c2rb_found _c2rb_glibc \
  _c2rb_need _c2rb_glibc_warn
unset -f _c2rb_older
ENVSH

build_commit="$(git -C "$source_dir" rev-parse --short HEAD 2> /dev/null || echo unknown)"
dirty=""
[ -n "$(git -C "$source_dir" status --porcelain 2> /dev/null | head -n 1)" ] && dirty=" (working tree had uncommitted changes)"
# The GPU architectures the kernels were compiled for (the PTX embedded in c2rbench names them).
cuda_arch="$(strings -n 6 "$out/bin/c2rbench" 2> /dev/null | sed -n 's/^\.target \(sm_[0-9a-z]*\).*/\1/p' \
  | sort -u | tr '\n' ' ' || true)"
bundled_libs="$(cd "$out/lib" && ls -1 *.so* 2> /dev/null | tr '\n' ' ')"
compat_libs="$(cd "$out/lib/compat" && ls -1 2> /dev/null | tr '\n' ' ')"

cat > "$out/README.txt" << README
c2rbench GPU bundle
===================
c2rbench ($build_commit$dirty, built in $build on $(. /etc/os-release && echo "$PRETTY_NAME"),
$(date -u +%Y-%m-%dT%H:%M:%SZ)) with everything it needs to run on a Linux x86-64 machine that has
an NVIDIA driver and CUDA 13 but no Open MPI, OpenBLAS, hwloc or METIS: Open MPI $ompi_version
(mpirun, orted, plugins, help files, configuration), PMIx $pmix_version, and every shared library
the programs load, except glibc and the NVIDIA driver (the target's) and cuBLAS and NCCL (too large
to carry: libcublasLt alone is 540 MB; the target's CUDA 13 copies are used).

Use
---
  . /path/to/this/bundle/env.sh          # bash; prints what it found
  c2rbench run --check ...               # a singleton (forks the bundled orted)
  mpirun --oversubscribe -np 2 c2rbench run --check ...    # (+ --allow-run-as-root as root)
  c2r_gpu_tests                          # GoogleTest; skips without a device
  c2r_nccl_tests                         # run under mpirun for several ranks
  c2rbench_gpu_kernels                   # exits 2 without a CUDA device
  ompi_info --path all                   # should name this bundle's directories
The source tree's scripts (scripts/mpirun.sh, scripts/gpu_check.sh ...) work with it once env.sh is
sourced, wherever they take mpirun and c2rbench from PATH (gpu_check.sh uses build/c2rbench: point
it at \$C2R_BUNDLE/bin/c2rbench or copy the binaries into build/).

If this bundle travels as a .tar.xz: scripts/gpu_bundle.sh --unpack ARCHIVE /tmp (or
tar -xJf ARCHIVE -C /tmp, or python3 -c 'import tarfile;tarfile.open("ARCHIVE").extractall("/tmp")')
then source the env.sh it prints.

Layout
------
  bin/        ${programs[*]}, orterun (= mpirun, mpiexec), orted, ompi_info
  lib/        $bundled_libs
  lib/openmpi3/  Open MPI's MCA components (less ofi/ucx/openib/psm/verbs and OpenSHMEM's)
  lib/pmix/   PMIx's components
  lib/compat/SONAME/  $compat_libs
              used only where the target's copy is missing or lacks a symbol version listed in
              lib/compat/SONAME/VERSIONS (a newer system copy is kept, so system tools run from the
              same shell keep their own)
  share/openmpi, share/pmix   help files;  etc/openmpi, etc/pmix-mca-params.conf   MCA defaults
  share/c2rbench/data   the reference data: c2rbench finds it beside itself (BIN/../share/c2rbench/
              data), so no --data-dir is needed; --data-dir DIR still overrides
  MANIFEST.txt   where each file came from

Requirements of the target
--------------------------
  - x86-64 Linux, glibc >= $glibc_core (the highest glibc symbol version required, by: $glibc_core_users)
    (Ubuntu 22.04 has 2.35, 24.04 2.39; Debian 12 2.36; env.sh warns where the machine's is older).
    ${glibc_compat_done:+Patched so as to load on glibc 2.35: $glibc_compat_done (their GLIBC_2.36 need, only
    arc4random*, dropped; on glibc < 2.36 env.sh preloads lib/glibc-compat/libc2r_arc4random.so).}
  - an NVIDIA driver for CUDA 13 (libcuda.so.1); the kernels carry PTX for ${cuda_arch:-(none found)}
    (and cubins for the same; H100/H200 are sm_90)
  - libcublas.so.13 + libcublasLt.so.13 (any CUDA 13.x) and libnccl.so.2 (NCCL 2.x; the programs call
    only long-standing NCCL APIs), found by env.sh in \$C2R_CUDA_LIBDIRS, \$CUDA_HOME,
    /usr/local/cuda*/lib64, the system library directories, or python3's nvidia-* wheels
  - libcudart.so.13 is bundled (this build's version)

Notes
-----
  - Everything Open MPI reads is redirected by env.sh: OPAL_PREFIX, OPAL_BINDIR (the singleton's
    orted), OPAL_LIBDIR/OPAL_PKGLIBDIR (components), OPAL_PKGDATADIR (help), OPAL_SYSCONFDIR
    (mca-params.conf), and the same for PMIx (PMIX_*), plus the component paths as MCA variables.
  - Sourcing env.sh puts the bundle first on LD_LIBRARY_PATH for every program run from that shell;
    run unrelated tools (cmake, python with torch) from a shell without it if they misbehave.
  - "mpirun: Error: unknown option --allow-run-as-root", "opal_init failed", or "Sorry! You were
    supposed to get help about ... couldn't open the help file /usr/share/openmpi/...": Open MPI
    is looking in its build-time directories, i.e. env.sh was not sourced in this shell.
  - In a container without CAP_SYS_PTRACE, Open MPI's shared-memory single copy (CMA) may fail
    with 'process_vm_readv: Operation not permitted': export
    OMPI_MCA_btl_vader_single_copy_mechanism=none.
README

# --- archive and sizes ------------------------------------------------------------------------
echo "bundle: $out"
echo "  programs: ${programs[*]}; GPU code: ${cuda_arch:-none found}"
echo "  Open MPI $ompi_version, PMIx $pmix_version; components skipped: ${#skipped_components[@]}"
echo "  glibc needed: >= $glibc_core (by $glibc_core_users)"
[ -n "$glibc_compat_done" ] && echo "  patched to load on glibc 2.35 (arc4random*):$glibc_compat_done"
for d in "$out"/lib/compat/*/; do
  echo "  compat $(basename "$d"): needs glibc >= $(cat "$d/GLIBC_REQUIRED")"
done
echo "  size by part (bytes):"
( cd "$out" && du -sb bin lib/*.so* lib/openmpi3 lib/pmix lib/compat share etc 2> /dev/null \
  | sort -rn | awk '{printf "    %10d  %s\n", $1, $2}' | head -n 16 ) || true
total="$(du -sb "$out" | cut -f1)"
echo "  total: $total bytes ($((total / 1048576)) MiB)"
if [ "$archive" -eq 1 ]; then
  tarball="${out%/}.tar.xz"
  tar -C "$(dirname "$out")" -cf - "$(basename "$out")" | xz -T0 -6 > "$tarball"
  asize="$(stat -c %s "$tarball")"
  echo "  archive: $tarball, $asize bytes ($((asize / 1048576)) MiB)"
fi
