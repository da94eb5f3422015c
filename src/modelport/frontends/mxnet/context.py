"""What an MXNet op converter sees: its node's inputs, weights and attributes, and a way
to emit ONNX. A thin adapter over the shared ``ir.builder.Builder``: node and constant
names are prefixed with the MXNet node's name.
"""
from __future__ import annotations

import numpy as np
import onnx_ir as ir

from modelport.frontends.mxnet.attrs import Attrs
from modelport.frontends.mxnet.reader import MXGraph, MXNode
from modelport.ir.builder import Builder, EmitError, NodeProblem


class Scope:
    """What every node's context shares: the graph, its weights, the values made so far."""

    def __init__(self, graph: MXGraph, weights: dict[str, np.ndarray], builder: Builder):
        self.graph, self.weights, self.builder = graph, weights, builder
        self.values: dict[tuple[int, int], ir.Value] = {}

    def value_of(self, entry: tuple[int, int]) -> ir.Value:
        if entry in self.values:
            return self.values[entry]
        node = self.graph.nodes[entry[0]]
        if node.is_variable and node.name in self.weights:
            return self.builder.initializer(node.name, self.weights[node.name])
        raise NodeProblem(f"'{node.name}' output {entry[1]} is used before it is defined")


class OpContext:
    """The converter's view of one MXNet node."""

    def __init__(self, scope: Scope, node: MXNode):
        self.scope, self.node = scope, node
        self.name = node.name
        self.attrs = Attrs(node.op, node.name, node.attrs)

    # -- inputs -------------------------------------------------------------------
    @property
    def num_inputs(self) -> int:
        return len(self.node.inputs)

    def input(self, i: int) -> ir.Value:
        if i >= self.num_inputs:
            self.fail(f"expects an input #{i}, the graph gives {self.num_inputs}")
        return self.scope.value_of(self.node.inputs[i])

    def inputs(self) -> list[ir.Value]:
        return [self.input(i) for i in range(self.num_inputs)]

    def output_read(self, index: int) -> bool:
        """Whether a later node or a graph head reads this node's output ``index``."""
        graph, entry = self.scope.graph, (self.node.id, index)
        return entry in graph.heads or any(graph.nodes[c].inputs[slot] == entry
                                           for c, slot in graph.consumers.get(self.node.id, []))

    def _source(self, i: int):
        if i >= self.num_inputs:
            self.fail(f"expects an input #{i}, the graph gives {self.num_inputs}")
        return self.scope.graph.nodes[self.node.inputs[i][0]]

    def weight(self, i: int) -> np.ndarray:
        """The params-file array feeding input slot i (resolved by graph edge, not by name)."""
        src = self._source(i)
        array = self.scope.weights.get(src.name) if src.is_variable else None
        if array is None:
            self.fail(f"input #{i} ('{src.name}') must be a weight, but the params file has no '{src.name}'", "weight")
        return array

    def weight_name(self, i: int) -> str:
        return self._source(i).name

    def check_weight_shape(self, i: int, expected: tuple) -> np.ndarray:
        """Weight i, after checking its shape against what the graph implies (None = any)."""
        array = self.weight(i)
        ok = len(array.shape) == len(expected) and all(e is None or e == a for e, a in zip(expected, array.shape))
        if not ok:
            shown = "(" + ", ".join("?" if e is None else str(e) for e in expected) + ("," if len(expected) == 1 else "") + ")"
            self.fail(f"weight '{self.weight_name(i)}' has shape {tuple(array.shape)}, the graph implies {shown}", "weight")
        return array

    def weight_value(self, i: int, array: np.ndarray | None = None) -> ir.Value:
        """Input i as an initializer; pass ``array`` to store a transformed copy instead."""
        if array is None:
            return self.input(i)
        src = self._source(i)
        name = src.name
        if len(self.scope.graph.consumers.get(src.id, [])) > 1:
            name = f"{name}__{self.name}"
        return self.scope.builder.initializer(name, array)

    # -- shapes -------------------------------------------------------------------
    @staticmethod
    def rank(value: ir.Value) -> int | None:
        return None if value.shape is None else len(value.shape)

    @staticmethod
    def dims(value: ir.Value) -> list[int | None]:
        """Static dims (None where symbolic or unknown); [] when the rank is unknown."""
        if value.shape is None:
            return []
        return [d if isinstance(d, int) else None for d in value.shape.dims]

    def need_rank(self, value: ir.Value) -> int:
        rank = self.rank(value)
        if rank is None:
            self.fail(f"the rank of '{value.name}' is unknown; give input shapes with --input")
        return rank

    # -- emission -----------------------------------------------------------------
    def const(self, array, suffix: str, dtype=np.float32) -> ir.Value:
        return self.scope.builder.const(array, f"{self.name}__{suffix}", dtype)

    def ints(self, values, suffix: str) -> ir.Value:
        return self.const(np.asarray(values, np.int64).reshape(-1), suffix, np.int64)

    def op(self, op_type: str, inputs: list, attributes: dict | None = None,
           num_outputs: int = 1, domain: str = "") -> ir.Value | list[ir.Value]:
        """Emit one ONNX node (shape-inferred); folded to constants when every input is a small constant.
        A private-domain node (``domain``) is neither inferred nor folded: its converter sets its shapes."""
        try:
            outputs = self.scope.builder.emit(op_type, inputs, attributes, self.name, num_outputs, domain)
        except EmitError as exc:
            self.fail(f"{op_type} does not fit its inputs: {exc}")
        return outputs[0] if num_outputs == 1 else outputs

    def fail(self, message: str, kind: str = "node"):
        raise NodeProblem(f"node '{self.name}' ({self.node.op}): {message}", kind)
