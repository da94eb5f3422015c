"""Lower ``Clip`` (ReLU6 and friends) to ReLU and scalar affine maps, the layers classic
Caffe and NNIE have (they lack ReLU6, Clip and, for OpenCV, Threshold).

Rule: ``y = Clip(x, lo, hi)`` with constant scalar bounds (either may be absent) becomes

    lo and hi, lo == 0:  y = hi - relu(hi - relu(x))                (ReLU, Power, ReLU, Power)
    lo and hi:           y = hi - relu((hi - lo) - relu(x - lo))    (Power, ReLU, Power, ReLU, Power)
    lo only:             y = relu(x - lo) + lo                      (ReLU alone when lo == 0)
    hi only:             y = hi - relu(hi - x)

where each ``c - t`` / ``t - c`` / ``t + c`` is one ONNX ``Sub``/``Add`` with a scalar
constant, written by the Caffe backend as one ``Power`` layer (``shift + scale * t``).

Math: ``max(t, lo) = relu(t - lo) + lo`` and ``min(t, hi) = hi - relu(hi - t)``;
composing them gives the forms above. Why this form: it is the cheapest chain of
layers Caffe has with a bounded error. Four unary layers for ReLU6, no branch and no
Eltwise (``relu(x) - relu(x - 6)`` also takes four layers but needs a branch and an
Eltwise, and for large ``x`` the rounding of ``x - 6`` makes ``x - (x - 6)`` wrong by up
to ulp(x), unbounded). Here every value above ``hi`` gives exactly ``hi`` and every value
below ``lo`` exactly ``lo``; in between the two subtractions from ``hi`` round at most
ulp(hi)/2 each (exact for ``t`` in ``[hi/2, hi]``, Sterbenz), so the error is at most
ulp(hi) (4.8e-7 for ReLU6).

Names: the last node's output keeps the Clip's output name; the intermediates are new
(``<name>__clip<k>``), nothing is recorded. Only the main graph is rewritten.
"""
from __future__ import annotations

import onnx_ir as ir

from modelport.passes._base import NodeRewritePass, Splice
from modelport.passes._channels import const_array


def _bound(node: ir.Node, index: int, attr: str) -> float | None | bool:
    """The bound as a float, None when absent, False when not a constant scalar."""
    if node.attributes.get(attr) is not None:  # opset < 11 form
        return float(node.attributes[attr].as_float())
    if len(node.inputs) <= index or node.inputs[index] is None:
        return None
    array = const_array(node.inputs[index])
    if array is None or array.size != 1:
        return False
    return float(array.reshape(-1)[0])


class LowerClipPass(NodeRewritePass):
    """Clip -> ReLU and scalar Add/Sub chains (see module doc); ``keep_relu6`` leaves
    ``Clip(0, 6)`` alone (for a Caffe runtime that has a ReLU6 layer)."""

    def __init__(self, keep_relu6: bool = False):
        super().__init__()
        self.keep_relu6 = keep_relu6

    def rewrite(self, model: ir.Model, node: ir.Node) -> bool:
        if node.domain != "" or node.op_type != "Clip":
            return False
        lo, hi = _bound(node, 1, "min"), _bound(node, 2, "max")
        if lo is False or hi is False or (self.keep_relu6 and (lo, hi) == (0.0, 6.0)):
            return False
        if node.outputs[0].dtype not in (None, ir.DataType.FLOAT):
            return False
        s = Splice(model.graph, node, "clip")
        t = node.inputs[0]
        if lo is not None:
            if lo != 0.0:
                t = s.emit("Sub", [t, s.const(lo)])
            t = s.emit("Relu", [t])
            if hi is None:
                if lo != 0.0:
                    t = s.emit("Add", [t, s.const(lo)])
            else:
                t = s.emit("Sub", [s.const(hi - lo), t])
                t = s.emit("Relu", [t])
                t = s.emit("Sub", [s.const(hi), t])
        elif hi is not None:
            t = s.emit("Sub", [s.const(hi), t])
            t = s.emit("Relu", [t])
            t = s.emit("Sub", [s.const(hi), t])
        else:
            t = s.emit("Identity", [t])
        s.done(t)
        return True
