#!/usr/bin/env bash
# test.sh — THE test command: installs what is missing, builds, and runs every test this machine can run.
#
#   scripts/test.sh                 # everything (CPU tests here; GPU tests skip with a reason without CUDA)
#   scripts/test.sh -L cpu          # extra arguments go to ctest (e.g. -R parity, -L gpu)
#
# Environment: SEA_BUILD_DIR (default build/), SEA_JOBS (default: number of cores),
#              SEA_SKIP_BOOTSTRAP=1 to skip the dependency check, CMAKE_ARGS for extra configure flags.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${SEA_BUILD_DIR:-$root/build}
jobs=${SEA_JOBS:-$(nproc)}

[[ "${SEA_SKIP_BOOTSTRAP:-0}" == 1 ]] || bash "$root/scripts/bootstrap.sh"
cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release ${CMAKE_ARGS:-}
cmake --build "$build" -j "$jobs"
ctest --test-dir "$build" --output-on-failure -j "$jobs" "$@"
