"""Write an onnx_ir model as a checked .onnx file."""
from __future__ import annotations

from pathlib import Path

import onnx
import onnx_ir as ir

from modelport.errors import ConversionError


def check(proto: onnx.ModelProto) -> None:
    try:
        onnx.checker.check_model(proto, full_check=True)
    except (onnx.checker.ValidationError, onnx.shape_inference.InferenceError) as exc:
        raise ConversionError([str(exc).splitlines()[0]], header="the converted model fails onnx.checker") from None


def write_onnx(model: ir.Model, path: Path) -> onnx.ModelProto:
    proto = ir.to_proto(model)
    check(proto)
    path.write_bytes(proto.SerializeToString())
    return proto
