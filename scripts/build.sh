#!/usr/bin/env bash
# Installs missing dependencies and builds c2rbench into build/ (Release).
# Usage: scripts/build.sh [extra cmake options...]
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
"$root/scripts/setup.sh"
# The CUDA kernels are built (and their tests run, or skip without a device) wherever nvcc is;
# pass -DC2R_WITH_CUDA=OFF to leave them out.
cuda=()
if command -v nvcc >/dev/null 2>&1; then
  cuda=(-DC2R_WITH_CUDA=ON)
elif [ -x /usr/local/cuda/bin/nvcc ]; then
  cuda=(-DC2R_WITH_CUDA=ON -DCMAKE_CUDA_COMPILER=/usr/local/cuda/bin/nvcc)
fi
cmake -S "$root" -B "$root/build" -DCMAKE_BUILD_TYPE=Release "${cuda[@]}" "$@" >/dev/null
cmake --build "$root/build" -j"$(nproc)"
