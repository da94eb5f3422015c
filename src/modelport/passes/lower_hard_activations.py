"""Lower ``HardSigmoid`` and ``HardSwish`` to scalar affine maps, ``Clip`` and ``Mul``, which
the Caffe writer takes (Power, ReLU chains after ``lower_clip``, Eltwise PROD).

Rule and math (ONNX definitions):

    HardSigmoid(x; alpha, beta) = max(0, min(1, alpha * x + beta))
                                -> Clip(Add(Mul(x, alpha), beta), 0, 1)
    HardSwish(x) = x * HardSigmoid(x; 1/6, 1/2)
                                -> Mul(x, Clip(Add(Mul(x, 1/6), 1/2), 0, 1))

``Mul``/``Add`` by a scalar become Power layers (scale, shift), the Clip becomes ReLU/Power
(``lower_clip``, run after this pass) and the final product an Eltwise PROD: the
Sigmoid-free swish forms (MobileNetV3). The only rounding beyond the runtime's own is
``alpha`` stored as float32 (``1/6`` is not representable), the same float32 constant
onnxruntime uses. ``x * sigmoid(x)`` (swish) needs no lowering: Sigmoid and an Eltwise
PROD of two same-shaped tensors are written as they are.

Names: the last node keeps the original output name; intermediates are new
(``<name>__hs<k>``), nothing is recorded.
"""
from __future__ import annotations

import onnx_ir as ir

from modelport.passes._base import NodeRewritePass, Splice


class LowerHardActivationsPass(NodeRewritePass):
    """HardSigmoid / HardSwish -> Mul, Add, Clip (, Mul) (see module doc)."""

    def rewrite(self, model: ir.Model, node: ir.Node) -> bool:
        if node.domain != "" or node.op_type not in ("HardSigmoid", "HardSwish"):
            return False
        if node.outputs[0].dtype not in (None, ir.DataType.FLOAT):
            return False
        if node.op_type == "HardSigmoid":
            alpha = node.attributes["alpha"].as_float() if "alpha" in node.attributes else 0.2
            beta = node.attributes["beta"].as_float() if "beta" in node.attributes else 0.5
        else:
            alpha, beta = 1.0 / 6.0, 0.5
        s = Splice(model.graph, node, "hs")
        x = node.inputs[0]
        t = s.emit("Mul", [x, s.const(alpha)])
        t = s.emit("Add", [t, s.const(beta)])
        t = s.emit("Clip", [t, s.const(0.0), s.const(1.0)])
        if node.op_type == "HardSwish":
            t = s.emit("Mul", [x, t])
        s.done(t)
        return True
