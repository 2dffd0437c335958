#!/bin/sh
# Sets up, builds and runs the main job on the default backend: the README's first command.
set -eu
cd "$(dirname "$0")/.."
sh tools/install-deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release
cmake --build build -j "$(nproc)"
./build/bin/recur devices
./build/bin/recur demo
