"""Comparisons (MXNet 1.9.1): the result is 1 or 0 in the *input's* type, not a boolean.

    _greater_scalar x > s   _greater_equal_scalar x >= s   _lesser_scalar x < s
    _lesser_equal_scalar x <= s   _equal_scalar x == s   _not_equal_scalar x != s
    broadcast_greater / _greater_equal / _lesser / _lesser_equal / _equal / _not_equal (a, b)
        numpy broadcasting, as ONNX

-> Greater / GreaterOrEqual / Less / LessOrEqual / Equal (Not), then Cast back to the input
type. ``scalar`` is a double that MXNet casts to the data type (a float32 constant here);
``is_int`` only matters for integer tensors.
"""
from __future__ import annotations

import numpy as np

from modelport.frontends.mxnet.ops._dtype import cast, numpy_type
from modelport.frontends.mxnet.registry import mxnet_op


def _compare(ctx, onnx_type: str, a, b):
    result = ctx.op(onnx_type if onnx_type != "NotEqual" else "Equal", [a, b])
    if onnx_type == "NotEqual":
        result = ctx.op("Not", [result])
    return cast(ctx, result, a.dtype)


def _scalar(onnx_type: str):
    def convert(ctx):
        x = ctx.input(0)
        dtype = numpy_type(x.dtype) if x.dtype is not None else np.float32
        return [_compare(ctx, onnx_type, x, ctx.const(ctx.attrs.float("scalar"), "scalar", dtype))]
    convert.__name__ = f"scalar_{onnx_type.lower()}"
    return convert


def _binary(onnx_type: str):
    def convert(ctx):
        if ctx.num_inputs != 2:
            ctx.fail(f"expects 2 inputs, the graph gives {ctx.num_inputs}")
        return [_compare(ctx, onnx_type, ctx.input(0), ctx.input(1))]
    convert.__name__ = f"binary_{onnx_type.lower()}"
    return convert


_ONNX = {"greater": "Greater", "greater_equal": "GreaterOrEqual", "lesser": "Less",
         "lesser_equal": "LessOrEqual", "equal": "Equal", "not_equal": "NotEqual"}
for _name, _onnx in _ONNX.items():
    mxnet_op(f"_{_name}_scalar", shape_preserving=True)(_scalar(_onnx))
    mxnet_op(f"broadcast_{_name}")(_binary(_onnx))
