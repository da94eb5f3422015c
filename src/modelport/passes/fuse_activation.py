"""Fuse an activation into the Conv, ConvTranspose, Gemm or MatMul that produces its input
(ncnn's ``activation_type``/``activation_params`` on Convolution, ConvolutionDepthWise,
Convolution1D, Deconvolution, DeconvolutionDepthWise and InnerProduct).

Rule: ``z = Act(y)`` with ``y = P(x, ...)``, ``P`` one of Conv, ConvTranspose, Gemm, MatMul
(default domain, one output), ``y`` read by this node alone and not a graph output, and
``Act`` one ncnn can fuse:

    Relu                       activation_type 1
    LeakyRelu(alpha)           activation_type 2, params [alpha]
    Clip(min, max) constant    activation_type 3, params [min, max] (absent: -/+FLT_MAX)
    Sigmoid                    activation_type 4
    Mish                       activation_type 5
    HardSwish                  activation_type 6, params [1/6, 0.5]

``P`` moves to the private ``modelport`` domain with the same op type, inputs and
attributes plus ``activation_type`` (int) and ``activation_params`` (floats), meaning
``Act(P(...))``; the activation node goes. This form is for the ncnn target only (its
emitters write it; onnxruntime does not run it): the pass is tested by running ncnn on
the model before and after it.

Math: ``z = Act(P(x))`` elementwise after ``P``, which is what ncnn's fused activation
applies to each output value of the layer (HardSwish: ``x * clip(alpha * x + beta, 0, 1)``
with ONNX's alpha 1/6, beta 0.5).

Names: ``P``'s output takes ``z``'s name (the one the source engine reports after the
activation); ``y``'s name is recorded ``absorb(model, y, z, FOLDED)``.
"""
from __future__ import annotations

import onnx_ir as ir

from modelport.passes._base import NodeRewritePass
from modelport.ir.contract import PRIVATE_DOMAIN
from modelport.ir.constants import const_array
from modelport.passes._channels import absorb_consumer

PRODUCERS = ("Conv", "ConvTranspose", "Gemm", "MatMul")
FLT_MAX = 3.4028234663852886e38


def _activation(node: ir.Node) -> tuple[int, list[float]] | None:
    """(activation_type, params) when ``node`` is an activation ncnn fuses, else None."""
    if node.domain != "" or len(node.outputs) != 1:
        return None
    op = node.op_type
    if op == "Relu":
        return 1, []
    if op == "LeakyRelu":
        alpha = node.attributes.get("alpha")
        return 2, [alpha.as_float() if alpha is not None else 0.01]
    if op == "Sigmoid":
        return 4, []
    if op == "Mish":
        return 5, []
    if op == "HardSwish":
        return 6, [1.0 / 6.0, 0.5]
    if op == "Clip":
        bounds = []
        for k, default in ((1, -FLT_MAX), (2, FLT_MAX)):
            v = node.inputs[k] if len(node.inputs) > k else None
            if v is None:
                bounds.append(default)
                continue
            c = const_array(v)
            if c is None or c.size != 1:
                return None
            bounds.append(float(c.reshape(-1)[0]))
        return 3, bounds
    return None


class FuseActivationPass(NodeRewritePass):
    """Fuse a following activation into Conv/ConvTranspose/Gemm/MatMul (see module doc)."""

    def rewrite(self, model: ir.Model, node: ir.Node) -> bool:
        if not node.inputs or node.inputs[0] is None:
            return False
        act = _activation(node)
        y = node.inputs[0]
        producer = y.producer()
        if (act is None or producer is None or producer.domain != "" or producer.op_type not in PRODUCERS
                or len(producer.outputs) != 1 or len(y.uses()) != 1 or y.is_graph_output()):
            return False
        kind, params = act
        producer.domain = PRIVATE_DOMAIN
        producer.attributes["activation_type"] = ir.AttrInt64("activation_type", kind)
        if params:
            producer.attributes["activation_params"] = ir.AttrFloat32s("activation_params", params)
        model.graph.opset_imports.setdefault(PRIVATE_DOMAIN, 1)
        absorb_consumer(model, node, y)
        return True
