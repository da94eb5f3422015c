"""Fold constant subgraphs at the model's current input shapes.

Rule: a node whose inputs are all constants (initializers that are not graph inputs, or
Constant outputs) is replaced by its value, computed with ONNX's reference evaluator;
``Shape``/``Size`` of a tensor whose dims are static become constants, and so does shape
arithmetic on them (``Shape -> Gather -> Concat`` into a ``Reshape``'s shape input), so a
graph at static input shapes loses its shape subgraphs while a symbolic dim keeps them.
Then every Constant node becomes an initializer of the same name (onnx_ir's
``LiftConstantsToInitializersPass``, all sizes), and what became unread goes (onnx_ir's
``RemoveUnusedNodesPass``).

Math: ``f(c1, ..., cn)`` for constants ``c`` is a constant, equal to what the runtime would
compute (up to the reference evaluator's float rounding); ``Shape(x)`` depends only on the
shape of ``x``, which is fixed when its dims are static.

Built on onnxscript's optimizer (``onnxscript.optimizer.fold_constants``, with ONNX's
per-node shape inference on), which rewrites the ``onnx_ir`` model in place. onnxscript is
imported only when a cheap scan finds something to fold (a Constant, Shape or Size node,
or a node whose inputs are all constants); otherwise the pass returns ``modified=False``
without importing it. Beyond folding, onnxscript also makes readers of a copy
(``Identity``, inference ``Dropout``, ``Cast`` to the same dtype, ``Reshape``/``Expand`` to
the same shape) read the copied tensor instead, keeping the EARLIER name (and renaming it
to the later one when the later one is a graph output): run ``EliminateIdentityPass``
before this pass so that copies follow the source engine's naming.

Names: a tensor that became a constant (an initializer of the same name), or that only
fed what became one (the input of a folded ``Shape``), is recorded
``absorb(model, name, provenance.CONSTANT, FOLDED)``: verify lists it as folded into
constants, not as missing. A non-constant tensor whose name disappears because
onnxscript replaced it by the tensor it copies is recorded
``absorb(model, gone, survivor, ALIAS)`` (the survivor holds exactly its values). Graph
output names never change.
"""
from __future__ import annotations

import onnx_ir as ir
from onnx_ir.passes.common import LiftConstantsToInitializersPass, RemoveUnusedNodesPass

from modelport.ir import provenance

ALWAYS_FOLD = ("Constant", "Shape", "Size")


def _is_constant(value: ir.Value) -> bool:
    if value.is_graph_input():
        return False
    if value.const_value is not None or value.is_initializer():
        return True
    producer = value.producer()
    return producer is not None and producer.op_type == "Constant" and producer.domain == ""


def has_foldable(graph: ir.Graph) -> bool:
    """Whether ``graph`` has anything for the folder: a Constant/Shape/Size node, or a node
    whose inputs are all constants."""
    for node in ir.traversal.RecursiveGraphIterator(graph):
        if node.domain == "" and node.op_type in ALWAYS_FOLD:
            return True
        inputs = [v for v in node.inputs if v is not None]
        if inputs and all(_is_constant(v) for v in inputs):
            return True
    return False


def _tensors(graph: ir.Graph) -> dict[ir.Value, str]:
    """Named node outputs of the main graph (a source engine reports Constant nodes' too)."""
    return {value: value.name for node in graph for value in node.outputs if value.name}


class FoldConstantsPass(ir.passes.InPlacePass):
    """Constant folding at the current input shapes via onnxscript (see module doc)."""

    def __init__(self, input_size_limit: int | None = None, output_size_limit: int | None = None):
        super().__init__()
        self.input_size_limit = input_size_limit
        self.output_size_limit = output_size_limit

    def call(self, model: ir.Model) -> ir.passes.PassResult:
        graph = model.graph
        if not has_foldable(graph):
            return ir.passes.PassResult(model, modified=False)
        from onnxscript import optimizer

        limits = {k: v for k, v in (("input_size_limit", self.input_size_limit),
                                    ("output_size_limit", self.output_size_limit)) if v is not None}
        tensors = _tensors(graph)
        outputs = [v.name for v in graph.outputs]
        result = optimizer.fold_constants(model, onnx_shape_inference=True, **limits)
        modified = bool(result.modified)
        modified |= LiftConstantsToInitializersPass(lift_all_constants=True, size_limit=0)(model).modified
        modified |= RemoveUnusedNodesPass()(model).modified
        for value, name in zip(graph.outputs, outputs):
            if value.name != name:  # not expected from onnxscript; keep the output contract anyway
                value.name = name
                modified = True
        _record(model, tensors, result.symbolic_value_map)
        return ir.passes.PassResult(model, modified=modified)


def _record(model: ir.Model, tensors: dict[ir.Value, str], symbolic: dict) -> None:
    graph = model.graph
    alive = set(graph.inputs) | set(graph.initializers.values())
    alive |= {v for node in graph for v in node.outputs}
    computed = {v.name for node in graph for v in node.outputs} | {v.name for v in graph.inputs}
    for value, name in tensors.items():
        if name in computed:  # still computed by a node
            continue
        survivor = value
        for _ in range(len(symbolic) + 1):  # follow x -> copy-of chains to a live tensor
            if survivor in alive:
                break
            survivor = symbolic.get(survivor)
            if not isinstance(survivor, ir.Value):
                survivor = None
                break
        if survivor is None or survivor not in alive or _is_constant(survivor) or survivor.name not in computed:
            provenance.absorb(model, name, provenance.CONSTANT, provenance.FOLDED)  # a constant now, or only fed one
        else:
            provenance.absorb(model, name, survivor.name, provenance.ALIAS)
