#!/usr/bin/env bash
# Create .venv-np2: numpy 2, the newest onnx stack, and NO mxnet (the converter must work there).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
if [ ! -x .venv-np2/bin/python ]; then
  "$PY" -m venv .venv-np2
fi
.venv-np2/bin/python -m pip install -q --upgrade pip
.venv-np2/bin/python -m pip install -q -r requirements/numpy2.txt
.venv-np2/bin/python -m pip install -q --no-deps -e .
