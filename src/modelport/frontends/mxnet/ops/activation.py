"""Activations: Activation, LeakyReLU (leaky, prelu, elu, selu, gelu, rrelu), clip, unary math.

``Activation(act_type)`` maps one to one:

    relu     max(x, 0)                       -> Relu
    sigmoid  1 / (1 + exp(-x))               -> Sigmoid
    tanh     tanh(x)                         -> Tanh
    softrelu log(1 + exp(x)) (x if x > 20)   -> Softplus (log(exp(x) + 1))
    softsign x / (1 + |x|)                   -> Softsign

``LeakyReLU(act_type, slope, lower_bound, upper_bound)``; ``slope`` defaults to 0.25:

    leaky  x > 0 ? x : slope * x                    -> LeakyRelu(alpha=slope)
    prelu  x > 0 ? x : gamma[c] * x, c = axis 1     -> PRelu(x, gamma reshaped to (C, 1, ...))
           (ONNX PRelu broadcasts numpy-style from the right, so the per-channel
           gamma of an (N, C, H, W) input must become (C, 1, 1); a 1-element
           gamma is shared by all channels)
    elu    x > 0 ? x : slope * (exp(x) - 1)         -> Elu(alpha=slope)
    selu   lambda * (x > 0 ? x : alpha * (exp(x) - 1)), MXNet's fixed
           alpha = 1.6732632, lambda = 1.0507010    -> Selu (same constants by default)
    gelu   0.5 * x * (1 + erf(x / sqrt(2)))  (MXNet uses the erf form, not the tanh
           approximation; opset 17 has no Gelu)     -> Div, Erf, Add, Mul, Mul
    rrelu  at inference a fixed slope (lower_bound + upper_bound) / 2 -> LeakyRelu
           (its second output, the slope mask, is refused if anything reads it)

``clip(a_min, a_max)`` -> Clip with float32 scalar constants. Standalone unary ops
(relu, sigmoid, tanh, exp, log, sqrt, abs, negative, softsign) map to their ONNX op;
``square`` is x * x.
"""
from __future__ import annotations

import math

import numpy as np

from modelport.frontends.mxnet.registry import mxnet_op

ACTIVATION = {"relu": "Relu", "sigmoid": "Sigmoid", "tanh": "Tanh", "softrelu": "Softplus",
              "softsign": "Softsign"}
UNARY = {"relu": "Relu", "sigmoid": "Sigmoid", "tanh": "Tanh", "exp": "Exp", "log": "Log",
         "sqrt": "Sqrt", "abs": "Abs", "negative": "Neg", "softsign": "Softsign"}


@mxnet_op("Activation", shape_preserving=True)
def activation(ctx):
    act = ctx.attrs.choice("act_type", ACTIVATION)
    return [ctx.op(ACTIVATION[act], [ctx.input(0)])]


def _unary(onnx_type: str):
    def convert(ctx):
        return [ctx.op(onnx_type, [ctx.input(0)])]
    convert.__name__ = f"unary_{onnx_type.lower()}"
    return convert


for _name, _onnx in UNARY.items():
    mxnet_op(_name, shape_preserving=True)(_unary(_onnx))


@mxnet_op("square", shape_preserving=True)
def square(ctx):
    x = ctx.input(0)
    return [ctx.op("Mul", [x, x])]


@mxnet_op("clip", shape_preserving=True)
def clip(ctx):
    low, high = ctx.attrs.float("a_min"), ctx.attrs.float("a_max")
    return [ctx.op("Clip", [ctx.input(0), ctx.const(low, "min"), ctx.const(high, "max")])]


# -- LeakyReLU ------------------------------------------------------------------------
def _leaky(ctx, x):
    return ctx.op("LeakyRelu", [x], {"alpha": ctx.attrs.float("slope")})


def _rrelu(ctx, x):
    if ctx.output_read(1):
        ctx.fail("rrelu's output 1 (the random slope mask, a training output) is used")
    slope = (ctx.attrs.float("lower_bound") + ctx.attrs.float("upper_bound")) / 2.0
    return ctx.op("LeakyRelu", [x], {"alpha": slope})


def _elu(ctx, x):
    return ctx.op("Elu", [x], {"alpha": ctx.attrs.float("slope")})


def _selu(ctx, x):
    return ctx.op("Selu", [x])


def _gelu(ctx, x):
    scaled = ctx.op("Div", [x, ctx.const(math.sqrt(2.0), "sqrt2")])
    erf_plus_1 = ctx.op("Add", [ctx.op("Erf", [scaled]), ctx.const(1.0, "one")])
    return ctx.op("Mul", [ctx.op("Mul", [x, erf_plus_1]), ctx.const(0.5, "half")])


def _prelu(ctx, x):
    rank = ctx.need_rank(x)
    gamma = ctx.weight(1)
    if rank < 2:
        ctx.fail(f"prelu needs an input of rank >= 2 (channels on axis 1), got rank {rank}")
    channels = ctx.dims(x)[1]
    if gamma.size != 1 and (gamma.ndim != 1 or (channels is not None and gamma.shape[0] != channels)):
        ctx.fail(f"prelu gamma '{ctx.weight_name(1)}' has shape {tuple(gamma.shape)}, "
                 f"the input has {channels} channels")
    if gamma.size == 1:
        slope = ctx.weight_value(1, gamma.reshape(()).astype(np.float32))
    else:
        slope = ctx.weight_value(1, gamma.reshape((-1,) + (1,) * (rank - 2)).astype(np.float32))
    return ctx.op("PRelu", [x, slope])


LEAKY = {"leaky": _leaky, "rrelu": _rrelu, "elu": _elu, "selu": _selu, "gelu": _gelu, "prelu": _prelu}


@mxnet_op("LeakyReLU", weight_slots=(1,), shape_preserving=True)
def leaky_relu(ctx):
    act = ctx.attrs.choice("act_type", LEAKY)
    return [LEAKY[act](ctx, ctx.input(0))]
