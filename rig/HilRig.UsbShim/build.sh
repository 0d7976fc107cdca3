#!/usr/bin/env bash
# Builds the HilRig libusb shim: <out-dir>/libusb-1.0.so.0 (default: ./out). Run by `dotnet build` of
# rig/HilRig.Hardware; can be run by hand. Needs gcc.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
out="${1:-$here/out}"
mkdir -p "$out"
if ! command -v gcc >/dev/null 2>&1; then
  echo "build.sh: error: gcc not found; install it (apt-get install gcc) to build the libusb shim" >&2
  exit 1
fi
# -Bsymbolic: the shim's calls to its own libusb_* functions must not bind to a real libusb loaded in the same process.
gcc -std=c11 -O2 -g -Wall -Wextra -Werror -fPIC -fvisibility=hidden -shared \
  -Wl,-soname,libusb-1.0.so.0 -Wl,-Bsymbolic -Wl,-z,defs \
  -o "$out/libusb-1.0.so.0.tmp" "$here/libusb_shim.c" -lpthread
mv -f "$out/libusb-1.0.so.0.tmp" "$out/libusb-1.0.so.0"
