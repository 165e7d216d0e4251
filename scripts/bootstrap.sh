#!/usr/bin/env bash
# bootstrap.sh — install everything SEA needs on a fresh Debian 12 machine (CPU side).
#
# Idempotent: each step checks before it installs, so a second run takes a few seconds.
#   * Debian packages: compiler, CMake, Ninja, and the header-only / small C++ deps
#     (CLI11, nlohmann-json, spdlog + fmt, GoogleTest).
#   * Python packages: torch==2.13.0 (its CPU wheel doubles as our LibTorch) and the
#     oracles the tests use (transformers, safetensors, tokenizers, numpy, scipy, scikit-learn), and
#     matplotlib for scripts/render_attention.py (tested by sea_attention_map_cli).
# Set SEA_SKIP_APT=1 to skip the apt step (e.g. when you lack root and installed them yourself).
set -euo pipefail

APT_PACKAGES=(build-essential cmake ninja-build git python3-pip
              libcli11-dev nlohmann-json3-dev libspdlog-dev libfmt-dev libgtest-dev
              libutf8proc-dev libgloo-dev)
# Oracle versions are pinned so that CI compares against the same transformers every run.
PY_PACKAGES=("torch==2.13.0" "transformers==5.23.0" "safetensors==0.8.0" "tokenizers==0.23.3" "numpy"
             "scipy==1.17.1" "scikit-learn==1.9.1" "matplotlib==3.11.2")

log() { printf '[bootstrap] %s\n' "$*"; }

if [[ "${SEA_SKIP_APT:-0}" != 1 ]]; then
  missing=()
  for p in "${APT_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  if ((${#missing[@]})); then
    log "apt: installing ${missing[*]}"
    SUDO=""; [[ $(id -u) -ne 0 ]] && SUDO="sudo"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
  else
    log "apt: all packages present"
  fi
fi

PY=${PYTHON:-python3}
if ! "$PY" - <<'PYEOF' 2>/dev/null
import importlib.metadata as md, sys
need = {"torch": "2.13.0", "transformers": "5.23.0", "safetensors": "0.8.0", "tokenizers": "0.23.3", "numpy": None,
        "scipy": "1.17.1", "scikit-learn": "1.9.1", "matplotlib": "3.11.2"}
for name, ver in need.items():
    v = md.version(name)
    if ver and not v.startswith(ver):
        sys.exit(1)
PYEOF
then
  log "pip: installing ${PY_PACKAGES[*]}"
  # torch first and pinned, so that transformers cannot pull a different (CUDA) build.
  "$PY" -m pip install -q "${PY_PACKAGES[0]}"
  "$PY" -m pip install -q "${PY_PACKAGES[@]}"
else
  log "pip: all packages present"
fi
log "torch $("$PY" -c 'import torch; print(torch.__version__)') at $("$PY" -c 'import torch; print(torch.utils.cmake_prefix_path)')"
