"""FullyConnected and Flatten.

MXNet FullyConnected: y = x W^T + b with W of shape (num_hidden, K).

- ``flatten=True`` (default): x of any rank is first reshaped to (N, -1), its axes
  flattened in memory order (C, H, W for NCHW: PITFALL 9/18), so K = prod(x.shape[1:]);
  a 1-D x is read as (N, 1). ONNX: Flatten(axis=1) (left out for 2-D x), then
  Gemm(transB=1) with C = b.
- ``flatten=False``: the product applies to the last axis of x of any rank, K =
  x.shape[-1], y.shape = x.shape[:-1] + (num_hidden,). ONNX: MatMul(x, W^T) (W stored
  transposed) + b; Gemm when x is 2-D.

``no_bias=True`` drops input slot 2. MXNet Flatten is (N, prod(rest)) = ONNX
Flatten(axis=1), also for a 1-D input, which becomes (N, 1).
"""
from __future__ import annotations

import numpy as np

from modelport.frontends.mxnet.registry import mxnet_op


def _features(dims: list, flatten: bool, rank: int):
    """K as the graph implies it (None where a dim is not static)."""
    if not flatten:
        return dims[-1]
    rest = dims[1:] if rank > 1 else [1]
    return None if any(d is None for d in rest) else int(np.prod(rest))


def _fc_input(attrs, weight) -> tuple:
    """(N, K) with K = the weight's axis 1 (the rank a flattening FC reads cannot be told)."""
    return (None, weight.shape[1])


@mxnet_op("FullyConnected", weight_slots=(1, 2), input_shape=_fc_input)
def fully_connected(ctx):
    x = ctx.input(0)
    hidden, flatten = ctx.attrs.int("num_hidden"), ctx.attrs.bool("flatten")
    rank = ctx.need_rank(x)
    weight = ctx.check_weight_shape(1, (hidden, _features(ctx.dims(x), flatten, rank)))
    bias = None
    if not ctx.attrs.bool("no_bias"):
        ctx.check_weight_shape(2, (hidden,))
        bias = ctx.input(2)
    if flatten and rank != 2:
        x = ctx.op("Flatten", [x], {"axis": 1})
    if flatten or rank == 2:
        return [ctx.op("Gemm", [x, ctx.input(1)] + ([bias] if bias is not None else []), {"transB": 1})]
    y = ctx.op("MatMul", [x, ctx.weight_value(1, np.ascontiguousarray(weight.T))])
    return [y if bias is None else ctx.op("Add", [y, bias])]


@mxnet_op("Flatten")
def flatten(ctx):
    return [ctx.op("Flatten", [ctx.input(0)], {"axis": 1})]
