#!/bin/bash
# Installs the Debian 12 packages needed to build, test and run the demo of Strider.
# Idempotent: when every package is already installed it changes nothing and does not touch
# the network. Runs as root directly, otherwise through sudo.
#   usage: bash tools/install-deps.sh
# CUDA is optional and not installed here: the build uses /usr/local/cuda/bin/nvcc when present.
set -euo pipefail

packages=(
  g++ make           # compiler and a fallback build tool
  gfortran           # the Fortran example and interposition tests (mpif90 needs it too)
  cmake ninja-build  # build system (CMake >= 3.24, Ninja generator for the presets)
  pkg-config         # the install test checks `pkg-config --libs strider`
  libopenmpi-dev openmpi-bin
  nlohmann-json3-dev # performance model and JSON output
  catch2             # test framework (v2)
  gnuplot-nox        # plot of the demo results (optional at run time)
)

if ! command -v dpkg-query >/dev/null || ! command -v apt-get >/dev/null; then
  echo "install-deps: needs a Debian-based system with apt-get (tested on Debian 12)" >&2
  exit 1
fi

missing=()
for p in "${packages[@]}"; do
  status=$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)
  [ "$status" = installed ] || missing+=("$p")
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#packages[@]} packages already installed"
  exit 0
fi

if [ "$(id -u)" -eq 0 ]; then
  as_root=(env DEBIAN_FRONTEND=noninteractive)
elif command -v sudo >/dev/null; then
  as_root=(sudo env DEBIAN_FRONTEND=noninteractive)
else
  echo "install-deps: missing packages: ${missing[*]}" >&2
  echo "install-deps: not root and sudo is not available; install them as root" >&2
  exit 1
fi

echo "install-deps: installing ${missing[*]}"
"${as_root[@]}" apt-get update -q
"${as_root[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}"
echo "install-deps: done"
