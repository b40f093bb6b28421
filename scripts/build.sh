#!/usr/bin/env bash
# Installs missing dependencies and builds c2rbench into build/ (Release).
# Usage: scripts/build.sh [extra cmake options...]
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
"$root/scripts/setup.sh"
# The CUDA kernels (and the NCCL exchange, where nccl.h is) are built, and their tests run or skip
# without a device, wherever nvcc is; pass -DC2R_WITH_CUDA=OFF to leave them out.
cuda=()
nvcc="$(command -v nvcc || true)"
if [ -z "$nvcc" ] && [ -x /usr/local/cuda/bin/nvcc ]; then nvcc=/usr/local/cuda/bin/nvcc; fi
if [ -n "$nvcc" ]; then
  cuda=(-DC2R_WITH_CUDA=ON -DCMAKE_CUDA_COMPILER="$nvcc")
  cuda_root="$(dirname "$(dirname "$nvcc")")"
  if [ -f "$cuda_root/include/nccl.h" ] || [ -f /usr/include/nccl.h ]; then
    cuda+=(-DC2R_WITH_NCCL=ON)
  fi
fi
source "$root/scripts/compiler_cache.sh"
cmake -S "$root" -B "$root/build" -DCMAKE_BUILD_TYPE=Release "${compiler_cache[@]}" "${cuda[@]}" "$@" \
  >/dev/null
cmake --build "$root/build" -j"$(nproc)"
