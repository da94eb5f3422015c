#!/usr/bin/env bash
# Regenerate src/modelport/backends/caffe/caffe_pb2.py from caffe.proto (modelport's own
# minimal Caffe schema). The generated module must import under the project's protobuf
# runtime: protoc's version must not be newer than the runtime's (grpcio-tools 1.85 ships
# libprotoc 35.1, whose code runs on protobuf >= 7.35). Uses a throwaway venv for
# grpcio-tools unless PROTOC names a protoc binary.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
DIR="$ROOT/src/modelport/backends/caffe"
if [[ -n "${PROTOC:-}" ]]; then
  "$PROTOC" --proto_path="$DIR" --python_out="$DIR" "$DIR/caffe.proto"
else
  VENV="${TMPDIR:-/tmp}/modelport-protoc-venv"
  [[ -x "$VENV/bin/python" ]] || python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q "grpcio-tools==1.85.*"
  "$VENV/bin/python" -m grpc_tools.protoc --proto_path="$DIR" --python_out="$DIR" "$DIR/caffe.proto"
fi
"$ROOT/.venv/bin/python" -c "import sys; sys.path.insert(0, '$ROOT/src'); from modelport.backends.caffe import caffe_pb2; print('caffe_pb2 imports:', caffe_pb2.NetParameter.DESCRIPTOR.full_name)"
