"""What a converter sees: its node's inputs, weights and attributes, and a way to emit ONNX.

Every emitted node gets its output types and shapes from ONNX's own per-node shape
inference right away, so later converters can ask for ranks and static dims.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import onnx
import onnx_ir as ir

from modelport.frontends.mxnet.attrs import Attrs
from modelport.frontends.mxnet.reader import MXNode

if TYPE_CHECKING:
    from modelport.frontends.mxnet.importer import MXNetImporter

OPSET = 17
_SMALL_CONST = 4096  # constants up to this many elements are passed to inference as data
_FOLD_LIMIT = 65536  # nodes whose inputs are all constants this small are evaluated at conversion
_NO_FOLD = {"RandomNormal", "RandomUniform", "RandomNormalLike", "RandomUniformLike", "Multinomial", "Identity"}


class NodeProblem(Exception):
    """Raised by a converter: this node cannot be converted (collected, reported together).

    ``kind="weight"`` marks problems of the params file itself (missing weight, wrong
    shape); those are still reported for nodes downstream of an earlier failure.
    """

    def __init__(self, message: str, kind: str = "node"):
        super().__init__(message)
        self.kind = kind


def value_type_proto(value: ir.Value) -> onnx.TypeProto | None:
    if value.type is None:
        return None
    proto = onnx.TypeProto()
    proto.tensor_type.elem_type = value.dtype.value
    if value.shape is not None:
        shape = proto.tensor_type.shape
        shape.SetInParent()
        for dim in value.shape.dims:
            entry = shape.dim.add()
            if isinstance(dim, int):
                entry.dim_value = dim
            elif dim is not None and getattr(dim, "value", None):
                entry.dim_param = str(dim.value)
    return proto


def infer_node(node: ir.Node, opset: int = OPSET) -> None:
    """Fill node.outputs' dtype/shape with onnx's shape inference for this one node."""
    if node.domain not in ("", "ai.onnx"):
        return
    schema = onnx.defs.get_schema(node.op_type, opset, "")
    types, data = {}, {}
    for value in node.inputs:
        if value is None:
            continue
        proto = value_type_proto(value)
        if proto is not None:
            types[value.name] = proto
        const = value.const_value
        if const is not None and const.size <= _SMALL_CONST:
            data[value.name] = ir.serde.serialize_tensor(const)
    proto = ir.serde.serialize_node(node)
    opsets = [onnx.helper.make_opsetid("", opset)]
    out = onnx.shape_inference.infer_node_outputs(schema, proto, types, data, opset_imports=opsets)
    for value in node.outputs:
        inferred = out.get(value.name)
        if inferred is None or not inferred.HasField("tensor_type"):
            continue
        value.type = ir.TensorType(ir.DataType(inferred.tensor_type.elem_type))
        if inferred.tensor_type.HasField("shape"):
            value.shape = ir.serde.deserialize_type_proto_for_shape(inferred)


class OpContext:
    """The converter's view of one MXNet node."""

    def __init__(self, importer: MXNetImporter, node: MXNode):
        self.importer, self.node = importer, node
        self.name = node.name
        self.attrs = Attrs(node.op, node.name, node.attrs)
        self._count = 0

    # -- inputs -------------------------------------------------------------------
    @property
    def num_inputs(self) -> int:
        return len(self.node.inputs)

    def input(self, i: int) -> ir.Value:
        if i >= self.num_inputs:
            self.fail(f"expects an input #{i}, the graph gives {self.num_inputs}")
        return self.importer.value_of(self.node.inputs[i])

    def inputs(self) -> list[ir.Value]:
        return [self.input(i) for i in range(self.num_inputs)]

    def output_read(self, index: int) -> bool:
        """Whether a later node or a graph head reads this node's output ``index``."""
        graph, entry = self.importer.graph, (self.node.id, index)
        return entry in graph.heads or any(graph.nodes[c].inputs[slot] == entry
                                           for c, slot in graph.consumers.get(self.node.id, []))

    def _source(self, i: int):
        if i >= self.num_inputs:
            self.fail(f"expects an input #{i}, the graph gives {self.num_inputs}")
        return self.importer.graph.nodes[self.node.inputs[i][0]]

    def weight(self, i: int) -> np.ndarray:
        """The params-file array feeding input slot i (resolved by graph edge, not by name)."""
        src = self._source(i)
        array = self.importer.weights.get(src.name) if src.is_variable else None
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
        if len(self.importer.graph.consumers.get(src.id, [])) > 1:
            name = f"{name}__{self.name}"
        return self.importer.add_initializer(name, array)

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
        name, n = f"{self.name}__{suffix}", 1
        while name in self.importer.initializers:  # never hand back another constant of the same name
            n += 1
            name = f"{self.name}__{suffix}{n}"
        return self.importer.add_initializer(name, np.asarray(array, dtype=dtype))

    def ints(self, values, suffix: str) -> ir.Value:
        return self.const(np.asarray(values, np.int64).reshape(-1), suffix, np.int64)

    def op(self, op_type: str, inputs: list, attributes: dict | None = None,
           num_outputs: int = 1) -> ir.Value | list[ir.Value]:
        """Emit one ONNX node (shape-inferred); folded to constants when every input is a small constant."""
        self._count += 1
        node = ir.Node("", op_type, inputs, attributes=ir.convenience.convert_attributes(attributes or {}),
                       num_outputs=num_outputs, name=f"{self.name}__{op_type}{self._count}")
        for k, value in enumerate(node.outputs):
            value.name = f"{self.name}__{op_type.lower()}{self._count}" + (f"_{k}" if num_outputs > 1 else "")
        folded = self._fold(node)
        if folded is not None:
            return folded[0] if num_outputs == 1 else folded
        try:
            infer_node(node)
        except onnx.shape_inference.InferenceError as exc:
            self.fail(f"{op_type} does not fit its inputs: {str(exc).splitlines()[0][:300]}")
        self.importer.nodes.append(node)
        return node.outputs[0] if num_outputs == 1 else list(node.outputs)

    def _fold(self, node: ir.Node) -> list[ir.Value] | None:
        """Evaluate a node of small constants with ONNX's reference evaluator (shape arithmetic)."""
        consts = [v.const_value if v is not None else None for v in node.inputs]
        present = [c for c in consts if c is not None]
        if (not node.inputs or len(present) != sum(v is not None for v in node.inputs)
                or sum(c.size for c in present) > _FOLD_LIMIT or node.op_type in _NO_FOLD):
            return None
        from onnx.reference import ReferenceEvaluator

        proto = ir.serde.serialize_node(node)
        feeds = {v.name: c.numpy() for v, c in zip(node.inputs, consts) if v is not None}
        results = ReferenceEvaluator(proto).run(None, feeds)
        return [self.const(np.asarray(r), f"{node.op_type.lower()}{self._count}_{k}", np.asarray(r).dtype)
                for k, r in enumerate(results)]

    def fail(self, message: str, kind: str = "node"):
        raise NodeProblem(f"node '{self.name}' ({self.node.op}): {message}", kind)

