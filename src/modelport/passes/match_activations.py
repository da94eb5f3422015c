"""Turn the activation patterns PyTorch exports into one activation node each (one ncnn
layer each: HardSigmoid, HardSwish, Swish, Mish).

Rules (``c`` are float32 constants of one value; either operand order of Add/Mul; every
intermediate tensor read only inside the pattern and not a graph output):

    h = Clip(Add(x, 3), 0, 6);  Div(h, 6) or Mul(h, 1/6)   -> HardSigmoid(x, alpha=1/6, beta=0.5)
    Mul(x, HardSigmoid(x, alpha, beta))                    -> HardSwish(x)  when alpha=1/6, beta=0.5
    Div(Mul(x, h), 6) or Mul(Mul(x, h), 1/6)               -> HardSwish(x)
    Mul(x, Sigmoid(x))                                     -> modelport::Swish(x)
    Mul(x, Tanh(Softplus(x)))                              -> modelport::Mish(x)

Math: ``relu6(x + 3) / 6 = min(max(x/6 + 1/2, 0), 1) = HardSigmoid(x; 1/6, 1/2)`` and
``HardSwish(x) = x * HardSigmoid(x; 1/6, 1/2)`` (ONNX's definitions); ``Swish(x) = x *
sigmoid(x)`` (SiLU); ``Mish(x) = x * tanh(softplus(x))``. ``Swish`` and ``Mish`` live in
the private ``modelport`` domain (ONNX has no Swish, and Mish only from opset 18); their
semantics are these formulas, and the ncnn layers of the same names compute them.
Rounding differs by a few float32 ulps from the unfused chain.

Names: the new node's output keeps the pattern's last name (the one the source engine
reports for the result); every intermediate tensor of the pattern is recorded
``absorb(model, name, result, FOLDED)``.
"""
from __future__ import annotations

import numpy as np
import onnx_ir as ir

from modelport.passes._base import NodeRewritePass
from modelport.ir import provenance
from modelport.ir.contract import PRIVATE_DOMAIN
from modelport.ir.constants import const_array


def _scalar(value: ir.Value | None) -> float | None:
    c = const_array(value) if value is not None else None
    return float(c.reshape(-1)[0]) if c is not None and c.size == 1 and c.dtype.kind == "f" else None


def _is(value: float | None, target: float) -> bool:
    return value is not None and np.float32(value) == np.float32(target)


def _node(value: ir.Value | None, op: str) -> ir.Node | None:
    node = value.producer() if value is not None else None
    if node is None or node.op_type != op or node.domain != "" or len(node.outputs) != 1:
        return None
    return node


def _private(value: ir.Value) -> bool:
    """Read once, inside the pattern, and not a graph output."""
    return len(value.uses()) == 1 and not value.is_graph_output()


def _operands(node: ir.Node):
    """(a, b) and (b, a) for a binary node."""
    a, b = node.inputs[0], node.inputs[1]
    return ((a, b), (b, a))


def _relu6_plus3(h: ir.Value) -> tuple[ir.Value, list[ir.Node]] | None:
    """``x`` and the nodes when ``h = Clip(Add(x, 3), 0, 6)``."""
    clip = _node(h, "Clip")
    if clip is None or len(clip.inputs) < 3 or not (_is(_scalar(clip.inputs[1]), 0) and _is(_scalar(clip.inputs[2]), 6)):
        return None
    add = _node(clip.inputs[0], "Add")
    if add is None or not _private(add.outputs[0]):
        return None
    for x, three in _operands(add):
        if _is(_scalar(three), 3) and const_array(x) is None:
            return x, [add, clip]
    return None


def _divided_by_6(node: ir.Node) -> ir.Value | None:
    """``h`` when ``node`` is ``Div(h, 6)`` or ``Mul(h, 1/6)``."""
    if node.domain != "" or len(node.inputs) != 2 or len(node.outputs) != 1:
        return None
    if node.op_type == "Div" and _is(_scalar(node.inputs[1]), 6):
        return node.inputs[0]
    if node.op_type == "Mul":
        for h, k in _operands(node):
            if _is(_scalar(k), 1 / 6):
                return h
    return None


def _match(node: ir.Node):
    """(op_type, domain, attributes, x, the pattern's other nodes) or None."""
    h = _divided_by_6(node)
    if h is not None and _private(h):
        found = _relu6_plus3(h)
        if found is not None:
            x, nodes = found
            return "HardSigmoid", "", {"alpha": 1 / 6, "beta": 0.5}, x, nodes
        mul = _node(h, "Mul")
        if mul is not None:
            for x, g in _operands(mul):
                found = _relu6_plus3(g) if _private(g) else None
                if found is not None and found[0] is x:
                    return "HardSwish", "", {}, x, found[1] + [mul]
    if node.op_type != "Mul" or node.domain != "" or len(node.inputs) != 2:
        return None
    for x, g in _operands(node):
        if g is None or x is None or not _private(g):
            continue
        hs = _node(g, "HardSigmoid")
        if hs is not None and hs.inputs[0] is x:
            alpha, beta = hs.attributes.get("alpha"), hs.attributes.get("beta")
            if _is(alpha.as_float() if alpha else 0.2, 1 / 6) and _is(beta.as_float() if beta else 0.5, 0.5):
                return "HardSwish", "", {}, x, [hs]
        sig = _node(g, "Sigmoid")
        if sig is not None and sig.inputs[0] is x:
            return "Swish", PRIVATE_DOMAIN, {}, x, [sig]
        tanh = _node(g, "Tanh")
        soft = _node(tanh.inputs[0], "Softplus") if tanh is not None else None
        if soft is not None and soft.inputs[0] is x and _private(soft.outputs[0]):
            return "Mish", PRIVATE_DOMAIN, {}, x, [soft, tanh]
    return None


class MatchActivationsPass(NodeRewritePass):
    """Replace PyTorch's HardSigmoid/HardSwish/Swish/Mish patterns by one node (see module doc)."""

    def rewrite(self, model: ir.Model, node: ir.Node) -> bool:
        found = _match(node)
        if found is None:
            return False
        op, domain, attrs, x, inner = found
        graph = model.graph
        attributes = [ir.AttrFloat32(k, v) for k, v in attrs.items()]
        out = node.outputs[0]
        new = ir.Node(domain, op, [x], attributes, num_outputs=1, name=node.name)
        graph.insert_before(node, new)
        result = new.outputs[0]
        result.shape, result.type = out.shape, out.type
        out.replace_all_uses_with(result, replace_graph_outputs=True)
        keep = out.name
        gone = [n.outputs[0].name for n in inner]
        graph.remove([node, *reversed(inner)], safe=True)
        out.name = None
        result.name = keep
        if domain:
            graph.opset_imports.setdefault(domain, 1)
        for name in gone:
            provenance.absorb(model, name, keep, provenance.FOLDED)
        return True
