#!/usr/bin/env bash
# prepare_deps.sh — builds the git-ignored folder .deps/ that every GPU-machine call carries (DESIGN.md §5).
#
# The GPU machine has no network and no CLI11 / nlohmann-json / spdlog / fmt / utf8proc. We download the Debian packages
# here and unpack them (dpkg -x, no install) into .deps/debian; CMake there finds them through
# CMAKE_PREFIX_PATH=.deps/debian/usr. All but utf8proc are used header-only (their runtime .so packages are
# included because the CMake configs check that their files exist); libutf8proc.so.2 is linked, and the
# build tree's RPATH points at it inside .deps.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
out=$root/.deps
pkgs=(libcli11-dev nlohmann-json3-dev libspdlog-dev libspdlog1.10 libfmt-dev libfmt9 libutf8proc-dev libutf8proc2 libgloo-dev)
if [[ -f $out/READY ]] && [[ "$(cat "$out/READY")" == "${pkgs[*]}" ]]; then
  echo "[prepare_deps] $out is ready"; exit 0
fi
rm -rf "$out" && mkdir -p "$out/debs" "$out/debian"
(cd "$out/debs" && apt-get download "${pkgs[@]}" 2>&1 | grep -v "^Get:" || true)
for deb in "$out"/debs/*.deb; do dpkg -x "$deb" "$out/debian"; done
rm -rf "$out/debs"
echo "${pkgs[*]}" > "$out/READY"
du -sh "$out"
