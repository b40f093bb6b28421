#!/usr/bin/env bash
# Installs the Debian packages c2rbench builds against, if any are missing.
# Usage: scripts/setup.sh [EXTRA_PACKAGE...]   (run as root, or with sudo available; scripts/fuzz.sh
#        adds clang and libFuzzer)
set -euo pipefail

packages=(
  build-essential cmake pkg-config git ccache
  libopenmpi-dev openmpi-bin
  libopenblas-dev
  libhwloc-dev
  libmetis-dev
  nlohmann-json3-dev
  libcli11-dev
  googletest libgtest-dev
  libbenchmark-dev
  python3 python3-jsonschema chromium
  "$@"
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "setup: all dependencies present"
  exit 0
fi

echo "setup: installing ${missing[*]}"
sudo_cmd=""
if [ "$(id -u)" -ne 0 ]; then sudo_cmd="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$sudo_cmd apt-get update -qq
$sudo_cmd apt-get install -y -qq --no-install-recommends "${missing[@]}"
