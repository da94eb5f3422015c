"""Normalization: BatchNorm, InstanceNorm, L2Normalization, LRN.

BatchNorm (inputs data, gamma, beta, moving_mean, moving_var), at inference:

    y = (x - mean[c]) / sqrt(var[c] + eps) * gamma[c] + beta[c],  c indexes ``axis``

- ``fix_gamma`` (default True in the symbol API; absent means True): MXNet then uses
  gamma = 1 whatever the params file stores (often 0 or a tiny value, PITFALL 3), so
  a ones vector replaces the stored gamma.
- ``eps`` (default 1e-3, PITFALL 4) is carried as is.
- ``use_global_stats``, ``momentum``, ``cudnn_off`` and the calibration ranges do not
  change inference, which always uses the moving statistics (PITFALL 5).
- ``axis`` 1 -> ONNX BatchNormalization (same formula, channel axis 1). Any other
  axis (e.g. -1 or 3 of an NHWC tensor) -> y = x * s + t with
  s = gamma / sqrt(var + eps) and t = beta - mean * s (computed in float64), the
  constants shaped (C, 1, ..., 1) so that they broadcast along that axis.
- ``output_mean_var``: outputs 1 and 2 (batch mean and variance) are refused if
  anything reads them; output 0 converts as above.

InstanceNorm(gamma, beta, eps=1e-3): y = (x - mean) / sqrt(var + eps) * gamma[c] + beta[c],
mean/var over the spatial axes of each (n, c) -> InstanceNormalization.

L2Normalization(mode, eps=1e-10): y = x / sqrt(sum(x^2) + eps) (eps inside the root),
the sum over the axes of the mode:

    instance  all axes but 0     channel  axis 1     spatial  axes 2..  (rank >= 3)
    -> Mul, ReduceSum(keepdims), Add eps, Sqrt, Div

LRN(nsize, alpha=1e-4, beta=0.75, knorm=2):
y = x / (knorm + alpha / nsize * sum_{window over channels} x^2) ^ beta
-> LRN(size=nsize, alpha, beta, bias=knorm), the same formula and the same centred
window for odd nsize; even nsize is refused.
"""
from __future__ import annotations

import numpy as np

from modelport.frontends.mxnet.registry import mxnet_op


def _bn_params(ctx, channels):
    gamma, beta, mean, var = (ctx.check_weight_shape(i, (channels,)) for i in (1, 2, 3, 4))
    if ctx.attrs.bool("fix_gamma"):
        gamma = np.ones_like(gamma)
    return gamma, beta, mean, var


@mxnet_op("BatchNorm", weight_slots=(1, 2, 3, 4), shape_preserving=True)
def batch_norm(ctx):
    if ctx.attrs.bool("output_mean_var") and (ctx.output_read(1) or ctx.output_read(2)):
        ctx.fail("output_mean_var=True and outputs 1/2 (batch mean and variance) are used: "
                 "they have no inference equivalent")
    x = ctx.input(0)
    rank = ctx.need_rank(x)
    axis = ctx.attrs.int("axis")
    if not -rank <= axis < rank:
        ctx.fail(f"axis {axis} is out of range for a rank-{rank} input")
    axis %= rank
    eps = ctx.attrs.float("eps")
    gamma, beta, mean, var = _bn_params(ctx, ctx.dims(x)[axis])
    if axis == 1:
        scale = ctx.weight_value(1, gamma) if ctx.attrs.bool("fix_gamma") else ctx.input(1)
        return [ctx.op("BatchNormalization", [x, scale, ctx.input(2), ctx.input(3), ctx.input(4)],
                       {"epsilon": eps})]
    s = gamma.astype(np.float64) / np.sqrt(var.astype(np.float64) + eps)
    t = beta.astype(np.float64) - mean.astype(np.float64) * s
    shape = (-1,) + (1,) * (rank - 1 - axis)
    scaled = ctx.op("Mul", [x, ctx.const(s.reshape(shape), "scale")])
    return [ctx.op("Add", [scaled, ctx.const(t.reshape(shape), "shift")])]


@mxnet_op("InstanceNorm", weight_slots=(1, 2), shape_preserving=True)
def instance_norm(ctx):
    x = ctx.input(0)
    rank = ctx.need_rank(x)
    if rank < 3:
        ctx.fail(f"needs an input of rank >= 3, got rank {rank}")
    channels = ctx.dims(x)[1]
    ctx.check_weight_shape(1, (channels,))
    ctx.check_weight_shape(2, (channels,))
    return [ctx.op("InstanceNormalization", [x, ctx.input(1), ctx.input(2)],
                   {"epsilon": ctx.attrs.float("eps")})]


L2_AXES = {"instance": lambda rank: list(range(1, rank)), "channel": lambda rank: [1],
           "spatial": lambda rank: list(range(2, rank))}


@mxnet_op("L2Normalization", shape_preserving=True)
def l2_normalization(ctx):
    x = ctx.input(0)
    rank = ctx.need_rank(x)
    mode = ctx.attrs.choice("mode", L2_AXES)
    if mode != "instance" and rank < 3:
        ctx.fail(f"mode '{mode}' needs an input of rank >= 3 (MXNet refuses it too), got rank {rank}")
    squares = ctx.op("Mul", [x, x])
    total = ctx.op("ReduceSum", [squares, ctx.ints(L2_AXES[mode](rank), "axes")], {"keepdims": 1})
    norm = ctx.op("Sqrt", [ctx.op("Add", [total, ctx.const(ctx.attrs.float("eps"), "eps")])])
    return [ctx.op("Div", [x, norm])]


@mxnet_op("LRN", shape_preserving=True)
def lrn(ctx):
    x = ctx.input(0)
    if ctx.need_rank(x) != 4:
        ctx.fail("needs a 4-D (N, C, H, W) input")
    size = ctx.attrs.int("nsize")
    if size % 2 == 0:
        ctx.fail(f"nsize={size} is even: the channel window is then off-centre and "
                 "onnxruntime's LRN takes odd sizes only")
    return [ctx.op("LRN", [x], {"size": size, "alpha": ctx.attrs.float("alpha"),
                                "beta": ctx.attrs.float("beta"), "bias": ctx.attrs.float("knorm")})]
