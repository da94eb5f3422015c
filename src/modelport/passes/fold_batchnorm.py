"""Fold an inference BatchNormalization into the Conv, ConvTranspose or Gemm before it.

Rule: ``z = BatchNormalization(y, gamma, beta, mean, var, epsilon)`` in inference form
(one output, ``training_mode`` 0) where ``y`` comes from a Conv, ConvTranspose or Gemm
with constant weight (and bias), ``y`` is read by this BatchNormalization alone and is not
a graph output, and all four BatchNormalization parameters are constant (initializers or
Constant outputs, not graph inputs). The producer then computes ``z`` itself and the
BatchNormalization is removed.

Math: per output channel ``c`` (axis 1 of ``y``),

    z = (y - mean) / sqrt(var + eps) * gamma + beta = y * s + t,
    s = gamma / sqrt(var + eps),   t = beta - mean * s

so with ``y = w * x + b`` (``w`` the weight rows of output channel ``c``):

    w' = w * s,    b' = (b - mean) * s + beta = b * s + t   (b = 0 when there is none)

Weight layouts and Gemm's ``transB``/``alpha``/``beta`` are handled as described in
``passes/_channels.py`` (ConvTranspose: weight ``(C_in, C_out/group, k...)``). A Gemm
output is 2-D, so the BatchNormalization channel axis 1 is Gemm's output axis ``N``.
``s`` and ``t`` are computed in float64; ``w'`` and ``b'`` are stored as new float32
initializers (a Conv without bias gets one); the old ones go when nothing else reads
them.

Names: the producer's output takes the BatchNormalization's output name (the one the
source engine reports), and the producer's old output name is recorded as
``absorb(model, <producer output>, <bn output>, FOLDED)``.
"""
from __future__ import annotations

import numpy as np
import onnx_ir as ir

from modelport.passes._base import NodeRewritePass
from modelport.passes._channels import absorb_consumer, const_array, fold_affine, foldable_producer


def _inference_bn(node: ir.Node) -> bool:
    if (node.op_type != "BatchNormalization" or node.domain != "" or len(node.inputs) != 5
            or len(node.outputs) != 1):
        return False
    mode = node.attributes.get("training_mode")
    return mode is None or mode.as_int() == 0


class FoldBatchNormPass(NodeRewritePass):
    """Fold inference BatchNormalization into a preceding Conv/ConvTranspose/Gemm (see module doc)."""

    def rewrite(self, model: ir.Model, node: ir.Node) -> bool:
        if not _inference_bn(node):
            return False
        found = foldable_producer(node.inputs[0])
        if found is None:
            return False
        producer, channels, _ = found
        params = [const_array(v) for v in node.inputs[1:]]
        if any(p is None or p.shape != (channels,) or p.dtype.kind != "f" for p in params):
            return False
        gamma, beta, mean, var = (p.astype(np.float64) for p in params)
        eps = node.attributes["epsilon"].as_float() if "epsilon" in node.attributes else 1e-5
        # The attribute is float32 in the model: use the value the runtime uses.
        with np.errstate(invalid="ignore"):  # var + eps < 0 gives NaN channels, as in every engine
            scale = gamma / np.sqrt(var + np.float64(np.float32(eps)))
        shift = beta - mean * scale
        fold_affine(model.graph, producer, scale, shift, node.outputs[0].name)
        absorb_consumer(model, node, node.inputs[0])
        return True
