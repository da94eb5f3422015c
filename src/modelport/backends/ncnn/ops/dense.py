"""Gemm / MatMul with a constant right operand -> InnerProduct.

InnerProduct parameter ids: 0=num_output 1=bias_term 2=weight_data_size 9=activation_type
10=activation_params (array). Weights: ``(num_output, num_input)`` row-major (tagged), then
the bias (raw). On a 1-D blob it computes ``y = W x + b``; on a 2-D blob whose width is
``num_input`` it does the same for every row (a ``(1, M, K) x (K, N)`` MatMul).

Gemm ``Y = alpha * A B' + beta * C`` (``B' = B^T`` when transB): ``W = alpha * B'^T``
(``B`` when transB, else ``B^T``), ``b = beta * C`` broadcast to ``(N,)``. ``transA`` and a
non-constant ``B``/``C`` are refused. MatMul: ``W = B^T``, no bias.
"""
from __future__ import annotations

import numpy as np

from modelport.backends.ncnn.registry import Weight, activation_params, attr, ncnn_op


def _inner_product(ctx, node, x, weight_fn, n: int, k: int, bias):
    dims = ctx.dims(x)
    if dims[-1] != k or len(dims) > 2:
        ctx.refuse(f"input '{x.name}' of shape {(1, *dims)}: ncnn's InnerProduct takes (1, K) or (1, M, K)")
    params = {0: n, 1: int(bias is not None), 2: n * k}
    params.update(activation_params(node))
    weights = [Weight(weight_fn, True)]
    if bias is not None:
        weights.append(Weight(bias, False))
    ctx.layer("InnerProduct", [ctx.blob(x)], [node.outputs[0].name], params, weights)


@ncnn_op("Gemm")
def gemm(ctx, node):
    if attr(node, "transA", 0):
        ctx.refuse("transA=1 (the input would need a transpose; ncnn's InnerProduct reads rows)")
    bshape = ctx.const_shape(node.inputs[1])  # the data stays on disk until written
    if bshape is None or len(bshape) != 2:
        ctx.refuse("B must be a 2-D constant")
    trans_b = attr(node, "transB", 0)
    alpha, beta = float(attr(node, "alpha", 1.0)), float(attr(node, "beta", 1.0))
    n, k = (bshape[0], bshape[1]) if trans_b else (bshape[1], bshape[0])
    value = node.inputs[1].const_value

    def weight(v=value):
        w = v.numpy()
        w = w if trans_b else w.T
        return np.ascontiguousarray(w * np.float32(alpha) if alpha != 1.0 else w)
    bias = None
    if len(node.inputs) > 2 and node.inputs[2] is not None:
        c = ctx.need_const(node.inputs[2], "C").astype(np.float64)
        if c.size not in (1, n) or (c.ndim == 2 and c.shape[0] != 1):
            ctx.refuse(f"C of shape {c.shape}: InnerProduct's bias is one value per output")
        bias = np.broadcast_to((beta * c).reshape(-1), (n,)).astype(np.float32)
    _inner_product(ctx, node, node.inputs[0], weight, n, k, bias)


@ncnn_op("MatMul")
def matmul(ctx, node):
    bshape = ctx.const_shape(node.inputs[1])
    if bshape is None or len(bshape) != 2:
        ctx.refuse("the right operand must be a 2-D constant (ncnn's InnerProduct)")
    value = node.inputs[1].const_value
    _inner_product(ctx, node, node.inputs[0], lambda v=value: np.ascontiguousarray(v.numpy().T),
                   bshape[1], bshape[0], None)
