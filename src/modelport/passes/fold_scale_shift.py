"""Fold a per-channel Mul by a constant, or Add of a constant, into the Conv, ConvTranspose or
Gemm before it.

Rule: ``z = Mul(y, a)`` or ``z = Add(y, c)`` (either operand order) where ``y`` comes from a
Conv, ConvTranspose or Gemm with constant weight (and bias), ``y`` is read by this node
alone and is not a graph output, and the other operand is a float32 constant that is the
same at every position except along the channel axis 1: after left-padding its shape with
1s to the rank of ``y`` every dim is 1 except axis 1, which is 1 or ``C`` (scalar,
``(C,1,1)``, ``(1,C,1,1)``; for a Gemm ``(C,)`` or ``(1,C)``). A constant with more dims
than ``y``, or varying over batch or spatial positions, is left alone: folding it would
not be exact.

Math, per output channel ``c`` with ``y = w * x + b``:

    Mul:  z = y * a[c]   ->  w' = w * a[c],  b' = b * a[c]   (no bias stays no bias)
    Add:  z = y + c[c]   ->  w' = w,         b' = b + c[c]   (a missing bias is created)

(the general ``y * s + t`` fold of ``passes/_channels.py``, with ``t = 0`` or ``s = 1``;
weight layouts, ConvTranspose groups and Gemm ``transB``/``beta`` are handled there).
Computed in float64, stored as new float32 initializers. Chains (``Conv -> Mul -> Add``)
fold in one run.

Names: as for BatchNormalization folding, the producer's output takes the Mul/Add output
name and its old name is recorded ``absorb(model, <producer output>, <z>, FOLDED)``.
"""
from __future__ import annotations

import numpy as np
import onnx_ir as ir

from modelport.passes._base import NodeRewritePass
from modelport.passes._channels import absorb_consumer, const_array, fold_affine, foldable_producer, per_channel


def _match(node: ir.Node):
    """``(y, producer, vector)`` for a foldable Mul/Add, else None."""
    if node.domain != "" or node.op_type not in ("Mul", "Add") or len(node.inputs) != 2 or len(node.outputs) != 1:
        return None
    for k in (0, 1):
        y, other = node.inputs[k], node.inputs[1 - k]
        if y is None or other is None or y is other:
            continue
        found = foldable_producer(y)
        constant = const_array(other)
        if found is None or constant is None or constant.dtype != np.float32:
            continue
        producer, channels, rank = found
        vector = per_channel(constant, channels, rank)
        if vector is not None:
            return y, producer, vector
    return None


class FoldScaleShiftPass(NodeRewritePass):
    """Fold per-channel constant Mul/Add into a preceding Conv/ConvTranspose/Gemm (see module doc)."""

    def rewrite(self, model: ir.Model, node: ir.Node) -> bool:
        found = _match(node)
        if found is None:
            return False
        y, producer, vector = found
        if node.op_type == "Mul":
            scale, shift = vector, np.zeros_like(vector)
        else:
            scale, shift = np.ones_like(vector), vector
        fold_affine(model.graph, producer, scale, shift, node.outputs[0].name)
        absorb_consumer(model, node, y)
        return True
