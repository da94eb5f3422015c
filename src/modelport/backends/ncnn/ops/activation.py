"""Activations, one ncnn layer each (in brackets the parameter ids).

- Relu -> ReLU; LeakyRelu -> ReLU [0=slope]; PRelu -> PReLU [0=num_slope; data: the slopes,
  raw] when the slope is a constant of one value or one per channel (axis 1);
- Clip -> Clip [0=min 1=max] (absent bounds: -/+ float max); Sigmoid -> Sigmoid;
  Tanh -> TanH; Elu -> ELU [0=alpha]; Softplus -> Softplus; Mish -> Mish; modelport::Swish
  (``x * sigmoid(x)``, see ``passes/match_activations.py``) -> Swish;
  HardSigmoid -> HardSigmoid [0=alpha 1=beta]; HardSwish -> HardSwish [0=alpha 1=beta]
  (ONNX: alpha 1/6, beta 0.5); Selu -> SELU [0=alpha 1=lambda].
- Exp/Log/Sqrt/Abs/Neg/Floor/Ceil/Reciprocal/Sin/Cos/... -> UnaryOp [0=op_type: 0 abs,
  1 neg, 2 floor, 3 ceil, 4 square, 5 sqrt, 6 rsqrt, 7 exp, 8 log, 9 sin, 10 cos, 11 tan,
  12 asin, 13 acos, 14 atan, 15 reciprocal, 16 tanh, 18 round, 19 trunc, 20 sign].
"""
from __future__ import annotations

import numpy as np

from modelport.backends.ncnn.registry import attr, ncnn_op, Weight

FLT_MAX = 3.4028234663852886e38
UNARY = {"Abs": 0, "Neg": 1, "Floor": 2, "Ceil": 3, "Sqrt": 5, "Exp": 7, "Log": 8, "Sin": 9, "Cos": 10,
         "Tan": 11, "Asin": 12, "Acos": 13, "Atan": 14, "Reciprocal": 15, "Round": 18, "Sign": 20}
PLAIN = {"Relu": "ReLU", "Sigmoid": "Sigmoid", "Tanh": "TanH", "Softplus": "Softplus", "Mish": "Mish", "Swish": "Swish"}


def _one(ctx, node, kind: str, params: dict | None = None, weights=None):
    x = node.inputs[0]
    ctx.dims(x)
    ctx.layer(kind, [ctx.blob(x)], [node.outputs[0].name], params or {}, weights)


@ncnn_op(*PLAIN)
def plain(ctx, node):
    _one(ctx, node, PLAIN[node.op_type])


@ncnn_op(*UNARY)
def unary(ctx, node):
    _one(ctx, node, "UnaryOp", {0: UNARY[node.op_type]})


@ncnn_op("LeakyRelu")
def leaky_relu(ctx, node):
    _one(ctx, node, "ReLU", {0: float(attr(node, "alpha", 0.01))})


@ncnn_op("Elu")
def elu(ctx, node):
    _one(ctx, node, "ELU", {0: float(attr(node, "alpha", 1.0))})


@ncnn_op("Selu")
def selu(ctx, node):
    _one(ctx, node, "SELU", {0: float(attr(node, "alpha", 1.67326319217681884765625)),
                             1: float(attr(node, "gamma", 1.05070102214813232421875))})


@ncnn_op("HardSigmoid")
def hard_sigmoid(ctx, node):
    _one(ctx, node, "HardSigmoid", {0: float(attr(node, "alpha", 0.2)), 1: float(attr(node, "beta", 0.5))})


@ncnn_op("HardSwish")
def hard_swish(ctx, node):
    _one(ctx, node, "HardSwish", {0: 1.0 / 6.0, 1: 0.5})


def clip_bounds(ctx, node) -> tuple[float, float]:
    bounds = []
    for k, default in ((1, -FLT_MAX), (2, FLT_MAX)):
        v = node.inputs[k] if len(node.inputs) > k else None
        bounds.append(default if v is None else float(ctx.need_const(v, "a Clip bound").reshape(-1)[0]))
    return bounds[0], bounds[1]


@ncnn_op("Clip")
def clip(ctx, node):
    lo, hi = clip_bounds(ctx, node)
    _one(ctx, node, "Clip", {0: lo, 1: hi})


@ncnn_op("PRelu")
def prelu(ctx, node):
    x = node.inputs[0]
    dims = ctx.dims(x)
    slope = ctx.need_const(node.inputs[1], "the slope").astype(np.float32)
    rank = len(ctx.shape(x))
    if slope.size == 1:
        values = slope.reshape(1)
    else:
        shape = (1,) * (rank - slope.ndim) + slope.shape
        if ctx.offset(x) != 1 or slope.ndim > rank or shape[1] != dims[0] or any(d != 1 for i, d in enumerate(shape) if i != 1):
            ctx.refuse(f"slope of shape {slope.shape}: ncnn's PReLU takes one slope or one per channel")
        values = slope.reshape(-1)
    ctx.layer("PReLU", [ctx.blob(x)], [node.outputs[0].name], {0: int(values.size)}, [Weight(values, False)])
