"""MXNet dtype names (the ``dtype`` attribute of Cast, _arange, one_hot, topk...) as ONNX types."""
from __future__ import annotations

import numpy as np
import onnx_ir as ir

ONNX_TYPES = {
    "float16": ir.DataType.FLOAT16, "float32": ir.DataType.FLOAT, "float64": ir.DataType.DOUBLE,
    "bfloat16": ir.DataType.BFLOAT16, "int8": ir.DataType.INT8, "uint8": ir.DataType.UINT8,
    "int32": ir.DataType.INT32, "int64": ir.DataType.INT64, "bool": ir.DataType.BOOL,
}


def dtype_attr(ctx, key: str = "dtype") -> ir.DataType:
    """The ONNX type named by the node's dtype attribute (refused when ONNX has none)."""
    return ONNX_TYPES[ctx.attrs.choice(key, ONNX_TYPES)]


def cast(ctx, value: ir.Value, to: ir.DataType) -> ir.Value:
    """``value`` as ``to`` (no node when it already is)."""
    if value.dtype == to:
        return value
    return ctx.op("Cast", [value], {"to": to.value})


def numpy_type(to: ir.DataType):
    return np.dtype(to.numpy()) if to != ir.DataType.BFLOAT16 else np.dtype(np.float32)
