#!/bin/sh
# Sets up, builds and runs every test: the README's second command, and what CI runs.
#   BUILD_DIR (default build), CMAKE_ARGS (extra configure flags), JOBS (default: cores)
set -eu
cd "$(dirname "$0")/.."
sh tools/install-deps.sh
BUILD_DIR=${BUILD_DIR:-build}
JOBS=${JOBS:-$(nproc)}
cmake -S . -B "$BUILD_DIR" ${CMAKE_ARGS:-}
cmake --build "$BUILD_DIR" -j "$JOBS"
ctest --test-dir "$BUILD_DIR" --output-on-failure -j "$JOBS"
