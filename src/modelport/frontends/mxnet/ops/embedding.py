"""Embedding: out[..., :] = weight[index, :], weight (input_dim, output_dim) in slot 1.

MXNet feeds the indices as floats (the graph input is float32); its kernel truncates
them toward zero and clips to [0, input_dim - 1] (an index of -3.2 reads row 0, 7 reads
the last row). ONNX Gather would wrap negative indices and reject large ones, so:
Clip(x, 0, input_dim - 1) -> Cast(int64) (truncation; clipping first is the same as
clipping after, since trunc is monotone and the bounds are integers) -> Gather(weight,
axis 0). out.shape = x.shape + (output_dim,).
"""
from __future__ import annotations

import numpy as np
import onnx_ir as ir

from modelport.frontends.mxnet.registry import mxnet_op


@mxnet_op("Embedding", weight_slots=(1,))
def embedding(ctx):
    rows, width = ctx.attrs.int("input_dim"), ctx.attrs.int("output_dim")
    dtype = ctx.attrs.str("dtype")
    if dtype != "float32":
        ctx.fail(f"dtype {dtype} is not supported (float32 only)")
    ctx.check_weight_shape(1, (rows, width))
    low, high = ctx.const(np.float32(0), "index_min"), ctx.const(np.float32(rows - 1), "index_max")
    index = ctx.op("Cast", [ctx.op("Clip", [ctx.input(0), low, high])], {"to": ir.DataType.INT64})
    return [ctx.op("Gather", [ctx.input(1), index], {"axis": 0})]
