"""What the node-by-node passes share: one walk over the graph, and splicing a node out
for a chain of new ones.

``NodeRewritePass`` visits each node of the main graph once (a snapshot: nodes a rewrite
adds are not visited again) and calls ``rewrite(model, node)``, which returns whether it
changed the model.

``Splice`` replaces one single-output node by nodes emitted in order: the last one's
output takes the replaced node's name (the name the source engine reports), the
intermediate ones are named ``{name}__{tag}{k}``, and constants are new initializers.
"""
from __future__ import annotations

import numpy as np
import onnx_ir as ir

from modelport.passes._channels import _initializer


class NodeRewritePass(ir.passes.InPlacePass):
    def rewrite(self, model: ir.Model, node: ir.Node) -> bool:
        raise NotImplementedError

    def call(self, model: ir.Model) -> ir.passes.PassResult:
        graph = model.graph
        modified = False
        for node in list(graph):
            if node.graph is graph:
                modified |= bool(self.rewrite(model, node))
        return ir.passes.PassResult(model, modified=modified)


class Splice:
    """Build the replacement of ``node`` (see module doc); ``done(last)`` puts it in place."""

    def __init__(self, graph: ir.Graph, node: ir.Node, tag: str):
        self.graph, self.node, self.tag = graph, node, tag
        self.y = node.outputs[0]
        self.name = self.y.name
        self.nodes: list[ir.Node] = []

    def emit(self, op: str, inputs: list, attributes: dict | None = None) -> ir.Value:
        out = ir.Value(name=f"{self.name}__{self.tag}{len(self.nodes) + 1}", shape=self.y.shape, type=self.y.type)
        attributes = ir.convenience.convert_attributes(attributes or {})
        self.nodes.append(ir.Node("", op, inputs, attributes, outputs=[out], name=out.name))
        return out

    def const(self, value) -> ir.Value:
        return _initializer(self.graph, f"{self.name}__c", np.asarray(value, np.float32))

    def done(self, last: ir.Value) -> None:
        self.y.replace_all_uses_with(last, replace_graph_outputs=True)
        self.graph.insert_after(self.node, self.nodes)
        self.graph.remove(self.node, safe=True)
        self.y.name = None
        last.name = self.name
