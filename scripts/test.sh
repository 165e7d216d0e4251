#!/usr/bin/env bash
# test.sh — THE test command: installs what is missing, builds, and runs every test this machine can run.
#
#   scripts/test.sh                 # everything (CPU tests here; GPU tests skip with a reason without CUDA)
#   scripts/test.sh -L cpu          # extra arguments go to ctest (e.g. -R parity, -L gpu)
#
# Data: the tests read <repo>/data (or $SEA_DATA_DIR), filled first by scripts/get_data.sh from
#       $SEA_DATA_MIRROR (default: ../shared/data beside the checkout, when it exists) or by downloading.
# Environment: SEA_BUILD_DIR (default build/), SEA_JOBS (default: number of cores),
#              SEA_SKIP_BOOTSTRAP=1 to skip the dependency check, CMAKE_ARGS for extra configure flags.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${SEA_BUILD_DIR:-$root/build}
jobs=${SEA_JOBS:-$(nproc)}

[[ "${SEA_SKIP_BOOTSTRAP:-0}" == 1 ]] || bash "$root/scripts/bootstrap.sh"
data=${SEA_DATA_DIR:-$root/data}
if [[ -z "${SEA_DATA_MIRROR:-}" && -d "$root/../shared/data" ]]; then
  export SEA_DATA_MIRROR="$root/../shared/data"
fi
bash "$root/scripts/get_data.sh" "$data"
cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DSEA_TEST_DATA_DIR="$data" ${CMAKE_ARGS:-}
cmake --build "$build" -j "$jobs"
ctest --test-dir "$build" --output-on-failure -j "$jobs" "$@"
