#!/usr/bin/env bash
# Set everything up, then convert + verify the built-in example model (per-tensor table).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
.venv/bin/modelport example -o example
