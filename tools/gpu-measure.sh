#!/bin/sh
# Measures the opencl backend on a GPU machine that has no package registry, in one go (issue: GPU targets).
# Everything it needs travels in one folder, made beforehand on a Debian 12 machine with the packages:
#
#   mkdir -p .gpu && (cd .gpu && apt-get download ocl-icd-libopencl1 libclblast1 clinfo)
#   cmake -S . -B .gpu/build -DCMAKE_BUILD_TYPE=Release -DRECUR_BUILD_TESTS=ON && cmake --build .gpu/build -j
#
# then, on the GPU machine, from the repository root:   tools/gpu-measure.sh .gpu OUTDIR
#
# Steps (each one's output goes to OUTDIR/NN-name.txt, and a line per step to OUTDIR/summary.txt; a failing
# step is recorded and the next one still runs):
#   1. unpack the .debs into a private prefix; register the NVIDIA OpenCL driver (libnvidia-opencl.so*, found
#      anywhere on the machine) through an ICD folder of our own (OCL_ICD_VENDORS); clinfo -l
#   2. recur devices (the GPU must be listed by the opencl backend)
#   3. recur-conform opencl on the GPU (RECUR_DEVICE=nvidia)
#   4. the seed tasks on the GPU: recur train magic / parity / sine
#   5. recur bench --pytorch: cpu and opencl (GPU) against PyTorch's best including cuda (cuDNN), the
#      training and inference cases; JSON lines too
set -u
if [ $# -ne 2 ] || [ ! -d "$1" ] || [ ! -x "$1/build/bin/recur" ]; then
    echo "usage: $0 GPU_DIR OUTDIR   (GPU_DIR holds the .debs and a built build/; see the header)" >&2
    exit 2
fi
GPU=$(cd "$1" && pwd)
OUT=$2
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
BIN=$GPU/build/bin
PREFIX=$(mktemp -d "${TMPDIR:-/tmp}/recur-gpu.XXXXXX")
SUMMARY=$OUT/summary.txt
: >"$SUMMARY"

step() { # step NN name command...: runs it, keeps its output, notes the exit status
    n=$1 name=$2
    shift 2
    start=$(date +%s)
    "$@" >"$OUT/$n-$name.txt" 2>&1
    rc=$?
    echo "$n $name: exit $rc, $(($(date +%s) - start)) s" | tee -a "$SUMMARY"
    return $rc
}

# 1. OpenCL from the .debs, the NVIDIA driver through our own ICD folder.
for f in "$GPU"/*.deb; do dpkg -x "$f" "$PREFIX"; done
export LD_LIBRARY_PATH="$PREFIX/usr/lib/x86_64-linux-gnu${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
lib=$(find / -xdev -name 'libnvidia-opencl.so*' 2>/dev/null | head -1)
mkdir -p "$PREFIX/icd"
if [ -n "$lib" ]; then echo "$lib" >"$PREFIX/icd/nvidia.icd"; fi
export OCL_ICD_VENDORS="$PREFIX/icd/"
echo "NVIDIA OpenCL driver: ${lib:-not found}" | tee -a "$SUMMARY"
step 01 clinfo "$PREFIX/usr/bin/clinfo" -l
nvidia-smi -L >>"$SUMMARY" 2>&1 || true

# 2-4. The backend sees the GPU, passes the conformance kit on it, trains the seed tasks.
export RECUR_DEVICE="${RECUR_DEVICE:-nvidia}" RECUR_CACHE_DIR="$PREFIX/cache"
step 02 devices "$BIN/recur" devices
step 03 conform "$BIN/recur-conform" opencl
step 04 train-magic "$BIN/recur" train magic --backend opencl
step 05 train-parity "$BIN/recur" train parity --backend opencl
step 06 train-sine "$BIN/recur" train sine --backend opencl

# 5. Side by side with PyTorch (cuda = cuDNN, when torch sees the GPU) and the cpu backend on this host.
CASES=${RECUR_GPU_CASES:-train.seed001,train.medium,train.large,train.bilstm_medium,infer.medium,infer.large,gemm.medium,layer.lstm}
step 07 bench "$BIN/recur" bench --pytorch --backend cpu,opencl --case "$CASES" --max-time 10 --repeat 5
step 08 bench-json "$BIN/recur" bench --pytorch --json --backend cpu,opencl --case "$CASES" --max-time 10 --repeat 5
rm -rf "$PREFIX"
echo "results in $OUT" | tee -a "$SUMMARY"
