#!/bin/sh
# The reference trainers for `npm run bench:train`: PyTorch (CPU) and Opacus in a virtual
# environment of this checkout (.venv-bench). Idempotent; needs python3 with venv and a package
# index. The CPU-only PyTorch index is tried first (small wheels); plain PyPI otherwise.
set -eu

ROOT=$(CDPATH='' cd -- "$(dirname -- "$0")/.." && pwd)
VENV="$ROOT/.venv-bench"
PY="$VENV/bin/python"

ready() {
  [ -x "$PY" ] && "$PY" -c 'import torch, opacus' 2>/dev/null
}

create() {
  if ! command -v python3 >/dev/null 2>&1; then
    echo "[bench] python3 is missing: install it (apt-get install -y python3 python3-venv)" >&2
    exit 1
  fi
  echo "[bench] creating $VENV with PyTorch (CPU) and Opacus"
  [ -x "$PY" ] || python3 -m venv "$VENV" || {
    echo "[bench] python3 -m venv failed: install python3-venv (apt-get install -y python3-venv)" >&2
    exit 1
  }
  if ! pip_install torch --index-url https://download.pytorch.org/whl/cpu 2>/dev/null; then
    echo "[bench] the CPU-only PyTorch index cannot be reached; installing torch from PyPI (large)"
    pip_install torch
  fi
  pip_install opacus numpy
}

pip_install() {
  "$PY" -m pip install --quiet --disable-pip-version-check "$@"
}

if ready; then
  echo "[bench] $VENV is ready"
else
  create
  ready || { echo "[bench] $VENV cannot import torch and opacus" >&2; exit 1; }
  echo "[bench] $VENV is ready"
fi
