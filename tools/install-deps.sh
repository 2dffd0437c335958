#!/bin/sh
# Installs the Debian packages recur needs to build and test. Run as root (apt-get); otherwise prints the
# exact command to run and exits non-zero. Nothing is downloaded from anywhere but Debian's archive.
#   --with-torch   also install python3-torch (PyTorch reference numbers: fixtures, bench comparisons)
set -eu

PACKAGES="cmake gcc clang make pkg-config ocl-icd-opencl-dev opencl-headers pocl-opencl-icd clinfo \
libclblast-dev libcunit1-dev libjansson-dev libopenblas-dev python3"
if [ "${1:-}" = "--with-torch" ]; then
    PACKAGES="$PACKAGES python3-torch python3-numpy"
fi

missing=""
for p in $PACKAGES; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
if [ -z "$missing" ]; then
    echo "install-deps: all packages present"
    exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
    echo "install-deps: missing packages:$missing" >&2
    echo "install-deps: run as root:  apt-get update && apt-get install -y --no-install-recommends$missing" >&2
    exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
apt-get install -y -q --no-install-recommends $missing
