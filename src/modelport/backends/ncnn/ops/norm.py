"""Normalizations.

- BatchNormalization (inference, when not folded into a producer) -> BatchNorm
  [0=channels 1=eps]; data, all raw: slope (gamma), mean, variance, bias (beta). ncnn
  normalizes its outermost dim, the ONNX channel axis 1 for any rank.
- InstanceNormalization (4-D) -> InstanceNorm [0=channels 1=eps 2=affine]; data gamma, beta.
- LRN -> LRN [0=region_type (0 across channels) 1=local_size 2=alpha 3=beta 4=bias];
  ncnn divides alpha by local_size, as ONNX does.
"""
from __future__ import annotations

import numpy as np

from modelport.backends.ncnn.registry import Weight, attr, ncnn_op


@ncnn_op("BatchNormalization")
def batch_norm(ctx, node):
    x = node.inputs[0]
    dims = ctx.dims(x)
    if attr(node, "training_mode", 0):
        ctx.refuse("training_mode=1")
    gamma, beta, mean, var = (ctx.need_const(v, "a BatchNormalization parameter").astype(np.float32).reshape(-1)
                              for v in node.inputs[1:5])
    eps = float(np.float32(attr(node, "epsilon", 1e-5)))
    ctx.layer("BatchNorm", [ctx.blob(x)], [node.outputs[0].name], {0: dims[0], 1: eps},
              [Weight(gamma, False), Weight(mean, False), Weight(var, False), Weight(beta, False)])


@ncnn_op("InstanceNormalization")
def instance_norm(ctx, node):
    x = node.inputs[0]
    dims = ctx.dims(x)
    if len(dims) != 3:
        ctx.refuse("InstanceNorm of a tensor other than (1, C, H, W)")
    gamma, beta = (ctx.need_const(v, "scale/bias").astype(np.float32).reshape(-1) for v in node.inputs[1:3])
    eps = float(np.float32(attr(node, "epsilon", 1e-5)))
    ctx.layer("InstanceNorm", [ctx.blob(x)], [node.outputs[0].name], {0: dims[0], 1: eps, 2: 1},
              [Weight(gamma, False), Weight(beta, False)])


@ncnn_op("LRN")
def lrn(ctx, node):
    x = node.inputs[0]
    if len(ctx.dims(x)) != 3:
        ctx.refuse("LRN of a tensor other than (1, C, H, W)")
    ctx.layer("LRN", [ctx.blob(x)], [node.outputs[0].name],
              {0: 0, 1: int(attr(node, "size")), 2: float(attr(node, "alpha", 1e-4)),
               3: float(attr(node, "beta", 0.75)), 4: float(attr(node, "bias", 1.0))})
