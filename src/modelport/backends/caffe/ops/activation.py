"""Pointwise activations: ReLU (+ negative_slope for LeakyRelu), PReLU, ELU, Sigmoid, TanH,
AbsVal, Exp, BNLL (Softplus = log(1 + e^x)); ReLU6 under the ``relu6`` option."""
from __future__ import annotations

import numpy as np

from modelport.backends.caffe.ops import Unsupported, emitter

SIMPLE = {"Relu": "ReLU", "Sigmoid": "Sigmoid", "Tanh": "TanH", "Abs": "AbsVal", "Softplus": "BNLL"}


@emitter(*SIMPLE)
def simple(net, node) -> None:
    net.layer(SIMPLE[node.op_type], [node.inputs[0]], node.outputs[0].name)


@emitter("LeakyRelu")
def leaky(net, node) -> None:
    layer = net.layer("ReLU", [node.inputs[0]], node.outputs[0].name)
    layer.relu_param.negative_slope = float(net.attr(node, "alpha", 0.01))


@emitter("Elu")
def elu(net, node) -> None:
    layer = net.layer("ELU", [node.inputs[0]], node.outputs[0].name)
    layer.elu_param.alpha = float(net.attr(node, "alpha", 1.0))


@emitter("Exp")
def exp(net, node) -> None:
    net.layer("Exp", [node.inputs[0]], node.outputs[0].name)


@emitter("PRelu")
def prelu(net, node) -> None:
    x, slope = node.inputs[0], net.need_const(node.inputs[1], "the slope")
    shape = net.shape(x)
    channels = shape[1] if len(shape) > 1 else 1
    flat = slope.reshape(-1)
    # the slope must vary along the channel axis only (or be one shared value)
    padded = (1,) * (len(shape) - slope.ndim) + slope.shape
    if any(d != 1 for k, d in enumerate(padded) if k != 1) or padded[1] not in (1, channels):
        raise Unsupported(f"slope of shape {list(slope.shape)} (Caffe's PReLU is per channel)")
    layer = net.layer("PReLU", [x], node.outputs[0].name)
    if flat.size == 1:
        layer.prelu_param.channel_shared = True
        net.blob(layer, flat.astype(np.float32))
    else:
        net.blob(layer, flat.astype(np.float32))


@emitter("Clip")
def relu6(net, node) -> None:
    """Only ``Clip(0, 6)`` left by ``lower_clip`` under the ``relu6`` option: a ReLU6 layer."""
    bounds = [net.const(v) if len(node.inputs) > k and v is not None else None
              for k, v in ((1, node.inputs[1] if len(node.inputs) > 1 else None),
                           (2, node.inputs[2] if len(node.inputs) > 2 else None))]
    if any(b is None or b.size != 1 for b in bounds) or [float(b.reshape(-1)[0]) for b in bounds] != [0.0, 6.0]:
        raise Unsupported("Clip other than ReLU6 (the lower_clip pass lowers constant bounds)")
    net.layer("ReLU6", [node.inputs[0]], node.outputs[0].name)
