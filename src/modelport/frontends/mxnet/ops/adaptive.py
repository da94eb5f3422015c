"""_contrib_AdaptiveAvgPooling2D (MXNet 1.9.1): average pooling to a fixed output size.

``output_size`` () -> 1 x 1, (s,) -> s x s, (oh, ow). Output cell (i, j) averages the input
rows [floor(i*H/oh), ceil((i+1)*H/oh)) and columns [floor(j*W/ow), ceil((j+1)*W/ow)):
windows overlap or differ in size when the output size does not divide the input's.

ONNX has no adaptive pooling; with run-time sizes H and W it is two matrix products,
y = A_h @ x @ A_w^T, where A_h (oh x H) holds 1/len of row i's window in its columns. A_h
is built from Shape(x) at run time (Range, integer Div, comparisons), so one converted
model serves every input size; with static H and W it folds to a constant. Output 1 x 1 is
GlobalAveragePool.
"""
from __future__ import annotations

import numpy as np
import onnx_ir as ir

from modelport.frontends.mxnet.ops.shape import dims_of
from modelport.frontends.mxnet.registry import mxnet_op


def _window_matrix(ctx, size, out: int, tag: str):
    """(out x size) float matrix: row i is 1/len over [floor(i*size/out), ceil((i+1)*size/out))."""
    i = ctx.const(np.arange(out).reshape(-1, 1), f"rows_{tag}", np.int64)  # (out, 1)
    n = ctx.op("Reshape", [size, ctx.ints([], f"scalar_{tag}")])
    j = ctx.op("Range", [ctx.const(0, f"zero_{tag}", "int64"), n, ctx.const(1, f"one_{tag}", "int64")])
    start = ctx.op("Div", [ctx.op("Mul", [i, n]), ctx.ints([out], f"out_{tag}")])
    end = ctx.op("Div", [ctx.op("Add", [ctx.op("Mul", [ctx.const(np.arange(1, out + 1).reshape(-1, 1), f"next_{tag}", np.int64), n]),
                                        ctx.ints([out - 1], f"round_{tag}")]), ctx.ints([out], f"out2_{tag}")])
    inside = ctx.op("And", [ctx.op("GreaterOrEqual", [j, start]), ctx.op("Less", [j, end])])
    weight = ctx.op("Div", [ctx.op("Cast", [inside], {"to": ir.DataType.FLOAT.value}),
                            ctx.op("Cast", [ctx.op("Sub", [end, start])], {"to": ir.DataType.FLOAT.value})])
    return weight


@mxnet_op("_contrib_AdaptiveAvgPooling2D")
def adaptive_avg_pool(ctx):
    x = ctx.input(0)
    if ctx.need_rank(x) != 4:
        ctx.fail("takes NCHW (rank-4) input")
    size = list(ctx.attrs.ints("output_size"))
    if len(size) > 2 or any(s <= 0 for s in size):
        ctx.fail(f"output_size {tuple(size)} must be () or one or two positive sizes")
    oh, ow = (size * 2)[:2] if size else (1, 1)
    if (oh, ow) == (1, 1):
        return [ctx.op("GlobalAveragePool", [x])]
    rows = _window_matrix(ctx, dims_of(ctx, x, 2, 3), oh, "h")
    cols = _window_matrix(ctx, dims_of(ctx, x, 3, 4), ow, "w")
    y = ctx.op("MatMul", [rows, x])
    return [ctx.op("MatMul", [y, ctx.op("Transpose", [cols], {"perm": [1, 0]})])]
