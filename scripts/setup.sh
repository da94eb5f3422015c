#!/usr/bin/env bash
# Create .venv with the pinned MXNet environment and modelport installed (editable).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q -r requirements/dev-mxnet.txt
.venv/bin/python -m pip install -q --no-deps -e .
