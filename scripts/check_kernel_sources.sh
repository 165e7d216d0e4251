#!/usr/bin/env bash
# check_kernel_sources.sh — a quick local check of the CUDA side on a machine without a GPU or a CUDA LibTorch:
# compiles each kernels/**/*.cu with nvcc for sm_90 and syntax-checks the kernel wrappers (src/ops/cuda,
# with SEA_WITH_CUDA=1) and the kernel tests (tests/gpu/*.cpp) against the CPU LibTorch's headers.
# current_stream.cpp is skipped: it needs c10/cuda headers that only a CUDA LibTorch ships.
#
#   scripts/check_kernel_sources.sh [file ...]     # default: everything
# The CMake build does the kernel part too (target sea_kernels, compiled wherever nvcc exists).
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
torch_dir=$(python3 -c 'import torch, os; print(os.path.dirname(torch.__file__))')
# The CUDA headers: the toolkit's include dir (nvcc may be a wrapper script elsewhere on PATH).
cuda_inc=""
for d in "${CUDA_HOME:-/usr/local/cuda}/include" "$(dirname "$(readlink -f "$(command -v nvcc)")")/../include"; do
  [[ -f $d/cuda_runtime_api.h ]] && { cuda_inc=$d; break; }
done
[[ -n $cuda_inc ]] || { echo "cuda_runtime_api.h not found: set CUDA_HOME"; exit 2; }
files=("$@")
if [[ ${#files[@]} -eq 0 ]]; then
  mapfile -t files < <(ls kernels/*/*.cu src/ops/cuda/*.cpp tests/gpu/*.cpp 2>/dev/null | grep -v current_stream.cpp)
fi
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
status=0
for f in "${files[@]}"; do
  case "$f" in
    *.cu)
      nvcc -std=c++17 -arch=sm_90 -lineinfo --expt-relaxed-constexpr -Xptxas=--warn-on-spills -O3 \
           -Ikernels -c "$f" -o "$out/$(basename "$f").o" || status=1 ;;
    *.cpp)
      g++ -std=c++17 -fsyntax-only -Wall -Wextra -DSEA_WITH_CUDA=1 -DSEA_SOURCE_DIR_DEFAULT='""' \
          -isystem "$torch_dir/include" -isystem "$torch_dir/include/torch/csrc/api/include" -isystem "$cuda_inc" \
          -Iinclude -Isrc -Ikernels -Itests "$f" || status=1 ;;
  esac
  echo "checked $f"
done
exit $status
