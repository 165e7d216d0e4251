#!/usr/bin/env bash
# demo.sh — THE main job for a newcomer (until sea-train lands): installs what is missing, builds, then builds
# a small OPT and a small BERT from configs/models, runs a forward pass of each on this machine, saves the OPT
# as a Hugging Face checkpoint and loads it back.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${SEA_BUILD_DIR:-$root/build}

[[ "${SEA_SKIP_BOOTSTRAP:-0}" == 1 ]] || bash "$root/scripts/bootstrap.sh"
cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release ${CMAKE_ARGS:-} > /dev/null
cmake --build "$build" -j "${SEA_JOBS:-$(nproc)}" --target sea-smoke

out=${SEA_DEMO_DIR:-$build/demo}
mkdir -p "$out"
"$build/apps/sea-smoke" --model "$root/configs/models/opt-demo.json" --seq-len 256 --batch 2 --save "$out/opt-demo-hf"
"$build/apps/sea-smoke" --model "$root/configs/models/bert-demo.json" --seq-len 128 --batch 4
"$build/apps/sea-smoke" --hf-dir "$out/opt-demo-hf" --seq-len 256 --batch 2
