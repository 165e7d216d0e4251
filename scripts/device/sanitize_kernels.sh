#!/usr/bin/env bash
# sanitize_kernels.sh — runs ON the GPU machine, after build-device/ is built: the kernel tests under
# compute-sanitizer (memcheck, then racecheck) on their small-shape cases, so out-of-bounds accesses, races and
# uninitialised reads show up. Summary lines to stdout, full reports to $OUT/sanitize_<tool>.log.
#
#   run(command="bash scripts/device/build_and_test.sh -R kernel; bash scripts/device/sanitize_kernels.sh",
#       carry=[".deps", "data"])
set -uo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$root"
out=${OUT:-$root/build-device/out}
mkdir -p "$out"
sanitizer=$(command -v compute-sanitizer || ls /usr/local/cuda*/bin/compute-sanitizer 2>/dev/null | head -1)
[[ -n $sanitizer ]] || { echo "compute-sanitizer not found"; exit 2; }
export SEA_SOURCE_DIR="$root"
rc=0
# test binary : gtest filter of its small cases
cases=(
  "test_sparse_attention_kernel:SparseAttentionKernel.ForwardAndBackwardAwkwardLengths:SparseAttentionKernel.BackwardIsDeterministic:SparseAttentionKernel.TiledForwardSmallShapes"
  "test_topk_mask_kernel:TopkMaskKernel.SmallShapesEveryModeAndBudget:TopkMaskKernel.AllEqualEstimatesKeepTheFirstCells"
  "test_layer_norm_kernel:LayerNormKernel.AwkwardRowCountsStridesAndNoAffine:LayerNormKernel.BackwardIsDeterministic"
  "test_performer_kernel:PerformerKernelRuns.*:Sweep/PerformerKernel.MatchesReference/0:Sweep/PerformerKernel.MatchesReference/1"
)
for tool in memcheck racecheck; do
  log="$out/sanitize_$tool.log"
  : > "$log"
  for entry in "${cases[@]}"; do
    test=${entry%%:*}
    filter=${entry#*:}
    echo "=== $tool $test $filter" >> "$log"
    timeout "${SEA_SANITIZE_TIMEOUT:-240}" "$sanitizer" --tool "$tool" --error-exitcode 99 \
      "build-device/tests/$test" --gtest_filter="$filter" --gtest_color=no >> "$log" 2>&1
    status=$?
    echo "$tool $test: exit $status ($(grep -E "ERROR SUMMARY|RACECHECK SUMMARY" "$log" | tail -1))"
    [[ $status -eq 0 ]] || rc=1
  done
done
exit $rc
