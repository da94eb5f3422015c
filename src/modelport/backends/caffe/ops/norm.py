"""BatchNormalization -> BatchNorm + Scale; LRN; L2 normalization -> Normalize.

Caffe's BatchNorm stores three blobs, mean, variance and a scale factor that divides
both (written 1), and carries the model's own eps; gamma and beta go into the Scale layer
that follows (``bias_term: true``). The BatchNorm half is an extra top ``<out>__bn``; the
Scale's top is the ONNX output name.

``y = x / sqrt(ReduceSum(x * x, axes, keepdims) + eps)`` (MXNet's L2Normalization, as its
frontend writes it) is one Normalize layer (Caffe-SSD's; OpenCV's NormalizeBBox), which
computes ``x / (sum(x^2) + eps)^(1/2)`` over the channels at each position
(``across_spatial: false``, axes [1]) or over C, H, W per instance (``across_spatial:
true``, axes [1, 2, 3]), times a scale blob of one shared 1. The Mul, ReduceSum, Add and
Sqrt it absorbs are recorded as folded into the Normalize output.
"""
from __future__ import annotations

import numpy as np

from modelport.backends.caffe.ops import Unsupported, emitter, fusion


@emitter("BatchNormalization")
def batchnorm(net, node) -> None:
    if len(node.outputs) != 1 or net.attr(node, "training_mode", 0):
        raise Unsupported("training-mode BatchNormalization")
    x = node.inputs[0]
    gamma, beta, mean, var = (net.need_const(v, name) for v, name in
                              zip(node.inputs[1:5], ("gamma", "beta", "mean", "variance")))
    eps = float(np.float32(net.attr(node, "epsilon", 1e-5)))
    out = node.outputs[0].name
    bn = net.layer("BatchNorm", [x], f"{out}__bn")
    bn.batch_norm_param.use_global_stats = True
    bn.batch_norm_param.eps = eps
    net.blob(bn, mean.reshape(-1).astype(np.float32))
    net.blob(bn, var.reshape(-1).astype(np.float32))
    net.blob(bn, np.ones(1, np.float32))
    scale = net.layer("Scale", [f"{out}__bn"], out)
    scale.scale_param.bias_term = True
    net.blob(scale, gamma.reshape(-1).astype(np.float32))
    net.blob(scale, beta.reshape(-1).astype(np.float32))


@emitter("LRN")
def lrn(net, node) -> None:
    size = int(net.attr(node, "size"))
    layer = net.layer("LRN", [node.inputs[0]], node.outputs[0].name)
    p = layer.lrn_param
    p.local_size = size
    p.alpha = float(net.attr(node, "alpha", 1e-4))
    p.beta = float(net.attr(node, "beta", 0.75))
    p.k = float(net.attr(node, "bias", 1.0))
    if size % 2 == 0:
        raise Unsupported("even LRN size")


def _single_use(value) -> bool:
    return len(value.uses()) == 1 and not value.is_graph_output()


@fusion
def l2_normalize(net, node):
    """Div(x, Sqrt(Add(ReduceSum(Mul(x, x), axes, keepdims=1), eps))) -> Normalize."""
    if node.op_type != "Div" or node.domain != "" or len(node.inputs) != 2:
        return None
    x, norm = node.inputs
    chain = []
    for op in ("Sqrt", "Add", "ReduceSum", "Mul"):
        producer = norm.producer() if norm is not None else None
        if producer is None or producer.op_type != op or not _single_use(norm):
            return None
        chain.append(producer)
        if op == "Add":
            consts = [net.const(v) for v in producer.inputs]
            k = 1 if consts[1] is not None else 0
            eps = consts[k]
            if eps is None or eps.size != 1 or consts[1 - k] is not None:
                return None
            norm = producer.inputs[1 - k]
        elif op == "ReduceSum":
            axes = net.const(producer.inputs[1]) if len(producer.inputs) > 1 else None
            if axes is None or not net.attr(producer, "keepdims", 1):
                return None
            norm = producer.inputs[0]
        elif op == "Mul":
            if list(producer.inputs) != [x, x]:
                return None
        else:
            norm = producer.inputs[0]
    try:
        rank = len(net.shape(x))
    except Unsupported:
        return None
    axes = sorted(int(a) % rank for a in axes.reshape(-1))
    if rank != 4 or axes not in ([1], [1, 2, 3]):
        return None
    across_spatial = axes == [1, 2, 3]
    eps_value = float(eps.reshape(-1)[0])

    def emit(net, node):
        layer = net.layer("Normalize", [x], node.outputs[0].name)
        p = layer.norm_param
        p.across_spatial = across_spatial
        p.channel_shared = True
        p.eps = eps_value
        net.blob(layer, np.ones(1, np.float32))

    return chain, emit
