"""Merge nodes that compute the same thing from the same inputs (common subexpressions).

Rule: two nodes of the main graph with the same domain, op type, attributes and the same
inputs (in order: the same tensors, or small constants of equal value), neither in the private domain's stateful ops nor random, compute
equal outputs; the later one is removed and its readers read the earlier one's outputs.
A node whose output is a graph output is kept (a graph output keeps its name).

Math: a node is a pure function of its inputs and attributes, so equal inputs give equal
outputs: ``f(a, b) = f(a, b)``.

Names: the later node's output names disappear; each is recorded
``absorb(model, gone, survivor, ALIAS)`` (the survivor holds exactly its values), so verify
compares the source's tensor with the survivor. onnx_ir's
``CommonSubexpressionEliminationPass`` does the same merge but records no names.
"""
from __future__ import annotations

import onnx_ir as ir

from modelport.ir import provenance
from modelport.ir.constants import const_array
from modelport.passes._base import NodeRewritePass

IMPURE = {"RandomNormal", "RandomUniform", "RandomNormalLike", "RandomUniformLike", "Multinomial", "Dropout"}


def _input_key(value: ir.Value | None):
    """A computed input by identity; a small constant by value (exporters repeat constants)."""
    array = const_array(value)
    if array is not None and array.size <= 64:
        return ("const", str(array.dtype), array.shape, array.tobytes())
    return ("value", id(value))


def _key(node: ir.Node):
    attrs = tuple(sorted((name, repr(attr.value)) for name, attr in node.attributes.items()))
    return node.domain, node.op_type, tuple(_input_key(v) for v in node.inputs), attrs, len(node.outputs)


class MergeDuplicatesPass(NodeRewritePass):
    """Merge duplicate nodes, recording the names they lose (see module doc)."""

    def call(self, model: ir.Model) -> ir.passes.PassResult:
        self._seen: dict = {}
        return super().call(model)

    def rewrite(self, model: ir.Model, node: ir.Node) -> bool:
        if node.op_type in IMPURE or not node.inputs:
            return False
        key = _key(node)
        first = self._seen.setdefault(key, node)
        if first is node or any(v.is_graph_output() for v in node.outputs):
            return False
        for gone, keep in zip(node.outputs, first.outputs):
            gone.replace_all_uses_with(keep)
            provenance.absorb(model, gone.name, keep.name, provenance.ALIAS)
        model.graph.remove(node, safe=True)
        return True
