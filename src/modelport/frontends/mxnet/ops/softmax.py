"""Softmax family and the loss heads, in their inference form (PITFALL 12).

    softmax(axis=-1, temperature=T)      y = exp(x/T) / sum_axis exp(x/T) -> [Div T] Softmax(axis)
    log_softmax(axis=-1, temperature=T)  y = log softmax(x/T)             -> [Div T] LogSoftmax(axis)
    SoftmaxActivation mode='instance'    MXNet views x as 2-D with all leading axes
                                         collapsed (TBlob::FlatTo2D), i.e. a softmax
                                         over the LAST axis (not over all non-batch
                                         elements)                         -> Softmax(axis=-1)
    SoftmaxActivation mode='channel'     softmax over axis 1 (rank >= 3)   -> Softmax(axis=1)
    SoftmaxOutput / Softmax (old name), label slot 1 dropped:
        multi_output=True                softmax over axis 1 (wins over preserve_shape)
        preserve_shape=True              softmax over the last axis
        otherwise                        softmax over the n x (everything else) view,
                                         output in the input's shape       -> Flatten, Softmax, Reshape
    LinearRegressionOutput, MAERegressionOutput: y = x                    (label slot 1 dropped)
    LogisticRegressionOutput:                    y = sigmoid(x)           (label slot 1 dropped)

Training-only attributes (grad_scale, ignore_label, use_ignore, normalization,
out_grad, smooth_alpha) do not change the forward output.

MXNet caveat, SoftmaxOutput without multi_output/preserve_shape on a 4-D float32
input: MXNet's CPU build hands that case to oneDNN, which takes the softmax over
the last axis only, whereas MXNet's own kernel (GPU, oneDNN off, other ranks)
takes it over all non-batch elements. The conversion follows MXNet's own kernel.
Rank-2 inputs, by far the common case, agree either way.
"""
from __future__ import annotations

from modelport.frontends.mxnet.registry import mxnet_op


def _scaled(ctx, x):
    temperature = ctx.attrs.optional("temperature", "float")
    if temperature is None or temperature == 1.0:
        return x
    return ctx.op("Div", [x, ctx.const(temperature, "temperature")])


def _plain_softmax_checks(ctx) -> None:
    dtype = ctx.attrs.optional("dtype", "str")
    if dtype not in (None, "float32"):
        ctx.fail(f"dtype '{dtype}' is not supported (float32 only)")
    if ctx.attrs.optional("use_length", "bool") or ctx.num_inputs > 1:
        ctx.fail("use_length=True (a length input) is not supported")


@mxnet_op("softmax", shape_preserving=True)
def softmax(ctx):
    _plain_softmax_checks(ctx)
    x = _scaled(ctx, ctx.input(0))
    return [ctx.op("Softmax", [x], {"axis": ctx.attrs.int("axis")})]


@mxnet_op("log_softmax", shape_preserving=True)
def log_softmax(ctx):
    _plain_softmax_checks(ctx)
    x = _scaled(ctx, ctx.input(0))
    return [ctx.op("LogSoftmax", [x], {"axis": ctx.attrs.int("axis")})]


def _softmax_axis1(ctx, x, why: str):
    if ctx.need_rank(x) < 2:
        ctx.fail(f"{why} needs an input of rank >= 2")
    return ctx.op("Softmax", [x], {"axis": 1})


def _softmax_instance(ctx, x):
    return ctx.op("Softmax", [x], {"axis": -1})


def _softmax_channel(ctx, x):
    if ctx.need_rank(x) < 3:
        ctx.fail("mode='channel' needs an input of rank >= 3 (MXNet refuses it too)")
    return ctx.op("Softmax", [x], {"axis": 1})


ACTIVATION_MODES = {"instance": _softmax_instance, "channel": _softmax_channel}


@mxnet_op("SoftmaxActivation", head=True, shape_preserving=True)
def softmax_activation(ctx):
    mode = ctx.attrs.choice("mode", ACTIVATION_MODES)
    return [ACTIVATION_MODES[mode](ctx, ctx.input(0))]


def _softmax_flat(ctx, x):
    """Softmax over each instance's elements, output in x's shape."""
    rank = ctx.need_rank(x)
    if rank <= 2:
        return _softmax_axis1(ctx, x, "SoftmaxOutput")
    flat = ctx.op("Flatten", [x], {"axis": 1})
    probs = ctx.op("Softmax", [flat], {"axis": 1})
    return ctx.op("Reshape", [probs, ctx.op("Shape", [x])])


@mxnet_op("SoftmaxOutput", "Softmax", schema="SoftmaxOutput", head=True, shape_preserving=True,
          label_slots=(1,))
def softmax_output(ctx):
    x = ctx.input(0)
    if ctx.attrs.bool("multi_output"):
        return [_softmax_axis1(ctx, x, "multi_output=True")]
    if ctx.attrs.bool("preserve_shape"):
        return [ctx.op("Softmax", [x], {"axis": -1})]
    return [_softmax_flat(ctx, x)]


@mxnet_op("LinearRegressionOutput", "MAERegressionOutput", head=True, shape_preserving=True,
          label_slots=(1,))
def regression_output(ctx):
    return [ctx.input(0)]


@mxnet_op("LogisticRegressionOutput", head=True, shape_preserving=True, label_slots=(1,))
def logistic_regression_output(ctx):
    return [ctx.op("Sigmoid", [ctx.input(0)])]
