#!/usr/bin/env bash
# Installs, builds, and runs every test (GoogleTest unit tests and the MPI tests) through ctest.
# Usage: scripts/test.sh [extra ctest options...]
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
"$root/scripts/build.sh"
cd "$root/build"
ctest --output-on-failure -j"$(nproc)" "$@"
