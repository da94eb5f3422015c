"""Remove dead code: nodes whose outputs nothing reads, and initializers nothing reads.

Rule: a node none of whose outputs is read by another node (in any subgraph) or is a
graph output is removed, repeatedly (walking the graph backwards, so whole dead chains
go in one run); then every initializer that no node reads and that is neither a graph
input nor a graph output is removed. Trailing optional outputs nobody reads are dropped
from the nodes that stay (e.g. an inference Dropout's mask, BatchNormalization's running
statistics once ``training_mode`` is known to be 0), and trailing empty inputs are
trimmed. Graph inputs and outputs are never touched.

Math: none; the graph outputs are the same functions of the graph inputs, because only
values that cannot reach an output are removed.

Names: nothing is recorded in the provenance: a removed tensor is not on the path to
any output, so no surviving tensor holds or depends on its values.

Built on onnx_ir's ``RemoveUnusedNodesPass``, which does exactly this.
"""
from __future__ import annotations

import onnx_ir as ir
from onnx_ir.passes.common import RemoveUnusedNodesPass


class RemoveDeadPass(ir.passes.InPlacePass):
    """Remove unread nodes and initializers (see module doc)."""

    def call(self, model: ir.Model) -> ir.passes.PassResult:
        before = _arity(model.graph)
        result = RemoveUnusedNodesPass()(model)
        # onnx_ir reports only removed nodes/initializers, not trimmed outputs/inputs.
        modified = result.modified or _arity(model.graph) != before
        return ir.passes.PassResult(model, modified=modified)


def _arity(graph: ir.Graph) -> int:
    return sum(len(node.inputs) + len(node.outputs) for node in ir.traversal.RecursiveGraphIterator(graph))
