#!/bin/sh
# The reference Python safetensors package, in a virtual environment of this checkout
# (.venv-interop), for the interoperability test: fedledger's update and model files must read
# with it exactly as fedledger wrote them. Idempotent; needs python3 with venv and PyPI.
set -eu

ROOT=$(CDPATH='' cd -- "$(dirname -- "$0")/.." && pwd)
VENV="$ROOT/.venv-interop"
PY="$VENV/bin/python"

ready() {
  [ -x "$PY" ] && "$PY" -c 'import numpy, safetensors' 2>/dev/null
}

create() {
  if ! command -v python3 >/dev/null 2>&1; then
    echo "[interop] python3 is missing: install it (apt-get install -y python3 python3-venv)" >&2
    exit 1
  fi
  echo "[interop] creating $VENV with safetensors and numpy from PyPI"
  python3 -m venv "$VENV" || {
    echo "[interop] python3 -m venv failed: install python3-venv (apt-get install -y python3-venv)" >&2
    exit 1
  }
  "$PY" -m pip install --quiet --disable-pip-version-check 'safetensors==0.8.0' 'numpy==2.4.6'
}

if ready; then
  echo "[interop] $VENV is ready"
else
  create
  ready || { echo "[interop] $VENV cannot import safetensors and numpy" >&2; exit 1; }
  echo "[interop] $VENV is ready"
fi
