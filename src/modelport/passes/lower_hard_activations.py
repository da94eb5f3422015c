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

import numpy as np
import onnx_ir as ir

from modelport.passes._channels import _initializer


class LowerHardActivationsPass(ir.passes.InPlacePass):
    """HardSigmoid / HardSwish -> Mul, Add, Clip (, Mul) (see module doc)."""

    def call(self, model: ir.Model) -> ir.passes.PassResult:
        graph = model.graph
        modified = False
        for node in list(graph):
            if node.graph is not graph or node.domain != "" or node.op_type not in ("HardSigmoid", "HardSwish"):
                continue
            y = node.outputs[0]
            if y.dtype not in (None, ir.DataType.FLOAT):
                continue
            if node.op_type == "HardSigmoid":
                alpha = node.attributes["alpha"].as_float() if "alpha" in node.attributes else 0.2
                beta = node.attributes["beta"].as_float() if "beta" in node.attributes else 0.5
            else:
                alpha, beta = 1.0 / 6.0, 0.5
            name, x = y.name, node.inputs[0]
            nodes = []

            def emit(op, inputs, k=[0]):  # noqa: B006 - a counter local to this node
                k[0] += 1
                out = ir.Value(name=f"{name}__hs{k[0]}", shape=y.shape, type=y.type)
                nodes.append(ir.Node("", op, inputs, outputs=[out], name=out.name))
                return out

            def const(v):
                return _initializer(graph, f"{name}__c", np.asarray(v, np.float32))

            t = emit("Mul", [x, const(alpha)])
            t = emit("Add", [t, const(beta)])
            t = emit("Clip", [t, const(0.0), const(1.0)])
            if node.op_type == "HardSwish":
                t = emit("Mul", [x, t])
            y.replace_all_uses_with(t, replace_graph_outputs=True)
            graph.insert_after(node, nodes)
            graph.remove(node, safe=True)
            y.name = None
            t.name = name
            modified = True
        return ir.passes.PassResult(model, modified=modified)
