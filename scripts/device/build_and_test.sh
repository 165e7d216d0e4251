#!/usr/bin/env bash
# build_and_test.sh — runs ON the GPU machine (through the device tool): configures with the machine's CUDA
# LibTorch and the carried .deps/, builds everything with the CUDA kernels on, runs all tests, and leaves logs
# in $OUT (the tool brings them back). Call it from here as:
#
#   run(command="bash scripts/device/build_and_test.sh", carry=[".deps", "data"])
#
# after scripts/device/prepare_deps.sh and scripts/get_data.sh (data/ is git-ignored, so it is carried: 32 MB).
# Extra arguments go to ctest.
set -uo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$root"
out=${OUT:-$root/build-device/out}
mkdir -p "$out"
[[ -f .deps/READY ]] || { echo "missing .deps/: run scripts/device/prepare_deps.sh here and carry .deps"; exit 2; }
[[ -f data/tokenizers/opt/vocab.json ]] || { echo "missing data/: run scripts/get_data.sh here and carry data"; exit 2; }

{
  nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader
  nvcc --version | tail -2
  python3 -c 'import torch, transformers, tokenizers; print("torch", torch.__version__, "cuda", torch.version.cuda, "| transformers", transformers.__version__, "| tokenizers", tokenizers.__version__)'
} 2>&1 | tee "$out/machine.txt"

torch_prefix=$(python3 -c 'import torch; print(torch.utils.cmake_prefix_path)')
start=$(date +%s)
cmake -S . -B build-device -G Ninja -DCMAKE_BUILD_TYPE=Release -DSEA_CUDA=ON \
      -DCMAKE_PREFIX_PATH="$torch_prefix;$root/.deps/debian/usr" -DSEA_TEST_DATA_DIR="$root/data" 2>&1 | tee "$out/configure.log" | tail -5 || exit 1
cmake --build build-device -j "$(nproc)" 2>&1 | tee "$out/build.log" | grep -E "error|warning|FAILED" | head -50
[[ ${PIPESTATUS[0]} -eq 0 ]] || { echo "build failed (see build.log)"; exit 1; }
echo "configure + build: $(( $(date +%s) - start )) s" | tee -a "$out/machine.txt"

# The metric oracle needs scipy + scikit-learn, which this machine may lack (no network to install them).
skip=()
if ! python3 -c 'import scipy, sklearn' 2>/dev/null; then
  echo "no scipy/scikit-learn here: metric_fixtures/test_metrics skipped (CI runs them)" | tee -a "$out/machine.txt"
  skip=(-E "metric")
fi
ctest --test-dir build-device --output-on-failure -j 4 "${skip[@]}" "$@" 2>&1 | tee "$out/ctest.log" | tail -25
rc=${PIPESTATUS[0]}
# Full output of the tests that exercise the GPU, run directly on the fixtures ctest just made.
for t in test_cuda_toolchain test_dense_attention test_hf_parity test_perplexity_parity; do
  echo "=== $t" >> "$out/gpu_tests.log"
  SEA_SOURCE_DIR="$root" SEA_FIXTURE_DIR="$root/build-device/test_fixtures" SEA_DATA_DIR="$root/data" \
    "build-device/tests/$t" --gtest_color=no >> "$out/gpu_tests.log" 2>&1 || rc=1
done
# The main job's model on the GPU: opt-125m, one forward pass of 8 x 2048 tokens (a smoke run, not a benchmark).
build-device/apps/sea-smoke --model configs/models/opt-125m.json --device cuda --seq-len 2048 --batch 8 \
  > "$out/smoke.log" 2>&1 || rc=1
cat "$out/smoke.log"
exit $rc
