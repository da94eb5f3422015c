#!/usr/bin/env bash
# Set up both environments and run the whole test suite:
#  1. pytest in the pinned MXNet environment (.venv);
#  2. the numpy-2 environment without mxnet (.venv-np2) converts every shared MXNet
#     model and checks its ONNX outputs equal the ones produced in environment 1.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bash scripts/setup-numpy2.sh
# headless Chromium renders the HTML report in tests/verify/test_html.py (skipped, with the reason, without it)
if ! command -v chromium >/dev/null && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) \
    || echo "chromium could not be installed: the browser check of the HTML report will be skipped"
fi
export MXNET_SUBGRAPH_BACKEND=NONE OMP_NUM_THREADS=${OMP_NUM_THREADS:-2}
xdir=$(mktemp -d)
trap 'rm -rf "$xdir"' EXIT
status=0
.venv/bin/python -m pytest -q -p no:cacheprovider "$@" || status=$?
echo "== second environment (numpy 2, no mxnet)"
.venv/bin/python scripts/crossenv.py export "$xdir" || status=1
.venv-np2/bin/python scripts/crossenv.py check "$xdir" || status=1
exit $status
