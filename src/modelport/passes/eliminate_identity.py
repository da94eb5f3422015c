"""Remove nodes that copy their input: Identity, inference Dropout, Cast to the same dtype,
and a reshape to the shape it already has.

Rule: ``y = Op(x)`` is removed when Op is

- ``Identity``;
- ``Dropout`` in inference: no ``training_mode`` input, or a constant false one (then
  output 0 = input 0 whatever the ratio), and its mask output (if any) is neither read
  nor a graph output (a read mask keeps the node);
- ``Cast`` whose ``to`` equals the known dtype of ``x``;
- ``Reshape``, ``Flatten``, ``Squeeze``, ``Unsqueeze`` or ``Expand`` whose input and output
  shapes are both fully static and equal (after constant folding and shape inference,
  e.g. PyTorch's ``view(-1, 2)`` of a tensor that is already ``(N, 2)``).

Math: ``y = x`` elementwise, so every reader of ``y`` may read ``x`` instead.

Names: one of the two names disappears, and which one is chosen to match the source
engine, which reports the later one: ``x`` is renamed ``y`` (MXNet's ``drop1`` survives, the
conv output before it is absorbed), unless ``x`` cannot be renamed because it is a graph
input, a graph output or an initializer; then ``y`` is absorbed into ``x``. When ``x``
cannot be renamed and ``y`` is a graph output the node stays (a graph output keeps its
name, and one tensor can't carry two). Whichever name disappears is recorded with
``absorb(model, gone, survivor, ALIAS)``. Chains collapse onto the last name.

onnx_ir's ``IdentityEliminationPass`` is not reused: it keeps ``x``'s name (the earlier
one) and records nothing, and knows neither Dropout nor Cast. Only the main graph is
rewritten.
"""
from __future__ import annotations

import onnx_ir as ir

from modelport.ir import provenance
from modelport.passes._base import NodeRewritePass


SAME_SHAPE_OPS = ("Reshape", "Flatten", "Squeeze", "Unsqueeze", "Expand")


def _merge_shapes(known: ir.Shape | None, other: ir.Shape | None) -> ir.Shape | None:
    """``known`` with its unknown dims filled from ``other`` (same rank), else whichever is set."""
    if known is None or other is None or len(known) != len(other):
        return known if known is not None else other
    return ir.Shape([a if isinstance(a, int) or not isinstance(b, int) else b for a, b in zip(known, other)])


def _copied_input(node: ir.Node) -> ir.Value | None:
    """``x`` when ``node`` is a removable copy ``y = Op(x)``, else None."""
    if node.domain != "" or not node.inputs or node.inputs[0] is None:
        return None
    x = node.inputs[0]
    if node.op_type == "Identity":
        return x if len(node.outputs) == 1 else None
    if node.op_type == "Cast":
        to = node.attributes.get("to")
        same = x.dtype is not None and to is not None and to.as_int() == x.dtype.value
        return x if same and len(node.outputs) == 1 else None
    if node.op_type in SAME_SHAPE_OPS:
        y = node.outputs[0]
        static = [s is not None and all(isinstance(d, int) for d in s.dims) for s in (x.shape, y.shape)]
        return x if all(static) and tuple(x.shape.dims) == tuple(y.shape.dims) and len(node.outputs) == 1 else None
    if node.op_type == "Dropout":
        if len(node.inputs) > 2 and node.inputs[2] is not None:
            mode = node.inputs[2]
            if mode.is_graph_input():
                return None
            try:
                tensor = ir.convenience.get_const_tensor(mode)
            except ValueError:
                return None
            if tensor is None or bool(tensor.numpy().reshape(-1)[0]):
                return None
        if any(v.uses() or v.is_graph_output() for v in node.outputs[1:]):
            return None
        return x
    return None


class EliminateIdentityPass(NodeRewritePass):
    """Remove Identity, inference Dropout and same-dtype Cast (see module doc)."""

    def rewrite(self, model: ir.Model, node: ir.Node) -> bool:
        x = _copied_input(node)
        if x is None:
            return False
        y = node.outputs[0]
        pinned = x.is_graph_input() or x.is_graph_output() or x.is_initializer()
        if pinned and y.is_graph_output():
            return False
        if not pinned:  # a graph input's or a weight's declared type stays as it is
            x.shape = _merge_shapes(x.shape, y.shape)
            if x.type is None:
                x.type = y.type
        y.replace_all_uses_with(x, replace_graph_outputs=True)
        model.graph.remove(node, safe=True)
        if pinned:
            provenance.absorb(model, y.name, x.name, provenance.ALIAS)
        else:
            gone, keep = x.name, y.name
            y.name = None
            x.name = keep
            provenance.absorb(model, gone, keep, provenance.ALIAS)
        return True
