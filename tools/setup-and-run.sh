#!/bin/sh
# Sets up, builds and runs the main job on the default backend: the README's first command.
set -eu
cd "$(dirname "$0")/.."
sh tools/install-deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release
cmake --build build -j "$(nproc)"
./build/bin/recur devices
# The main job: seeds/001's task (GRU + additive attention finds the magic token), trained on the default
# backend, with per-epoch metrics, a test sample's attention weights, and a checkpoint in magic.safetensors.
./build/bin/recur train magic --save build/magic.safetensors
