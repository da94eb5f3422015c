"""Build an onnx_ir graph node by node: the one way frontends and passes emit ONNX.

Every emitted node gets its output types and shapes from ONNX's own per-node shape
inference right away, so later code can ask for ranks and static dims. A node whose
inputs are all small constants is evaluated at once with ONNX's reference evaluator
(shape arithmetic folds away). Constant names are unique: asking twice for the same
name never hands back another constant.
"""
from __future__ import annotations

import numpy as np
import onnx
import onnx_ir as ir

from modelport.ir.contract import IR_VERSION, OPSET

SMALL_CONST = 4096  # constants up to this many elements are passed to inference as data
FOLD_LIMIT = 65536  # nodes whose inputs are all constants this small are evaluated at once
NO_FOLD = {"RandomNormal", "RandomUniform", "RandomNormalLike", "RandomUniformLike", "Multinomial", "Identity"}


class EmitError(Exception):
    """An emitted node does not fit its inputs (shape inference or constant evaluation refused it)."""


class NodeProblem(Exception):
    """This node cannot be converted (collected, and reported together with all others).

    ``kind="weight"`` marks problems of the weights file itself (missing weight, wrong
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
        if const is not None and const.size <= SMALL_CONST:
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


def evaluate(node: ir.Node) -> list[np.ndarray] | None:
    """The outputs of ``node`` when every input is a small constant, else None."""
    consts = [v.const_value if v is not None else None for v in node.inputs]
    present = [c for c in consts if c is not None]
    if (not node.inputs or len(present) != sum(v is not None for v in node.inputs)
            or sum(c.size for c in present) > FOLD_LIMIT or node.op_type in NO_FOLD
            or node.domain not in ("", "ai.onnx")):
        return None
    from onnx.reference import ReferenceEvaluator

    proto = ir.serde.serialize_node(node)
    feeds = {v.name: c.numpy() for v, c in zip(node.inputs, consts) if v is not None}
    return [np.asarray(r) for r in ReferenceEvaluator(proto).run(None, feeds)]


class Builder:
    """Nodes and initializers of a graph under construction, in topological order."""

    def __init__(self):
        self.nodes: list[ir.Node] = []
        self.initializers: dict[str, ir.Value] = {}
        self._count = 0

    # -- constants ------------------------------------------------------------------
    def initializer(self, name: str, array: np.ndarray) -> ir.Value:
        """The initializer ``name`` (created from ``array`` the first time; floats stored as float32)."""
        if name in self.initializers:
            return self.initializers[name]
        if array.dtype.kind == "f" and array.dtype != np.float32:
            array = array.astype(np.float32)
        tensor = ir.Tensor(np.ascontiguousarray(array).reshape(array.shape), name=name)
        value = ir.Value(name=name, shape=ir.Shape(array.shape), type=ir.TensorType(tensor.dtype),
                         const_value=tensor)
        self.initializers[name] = value
        return value

    def const(self, array, name: str, dtype=np.float32) -> ir.Value:
        """A new constant; ``name`` gets a numeric suffix when taken."""
        unique, n = name, 1
        while unique in self.initializers:
            n += 1
            unique = f"{name}{n}"
        return self.initializer(unique, np.asarray(array, dtype=dtype))

    # -- nodes ----------------------------------------------------------------------
    def emit(self, op_type: str, inputs: list, attributes: dict | None = None, prefix: str = "",
             num_outputs: int = 1, domain: str = "") -> list[ir.Value]:
        """Append one node named ``{prefix}__{op}{n}``; its outputs, shape-inferred.

        Folded into constants instead when every input is a small constant. Raises
        ``EmitError`` when the node does not fit its inputs.
        """
        self._count += 1
        base = f"{prefix}__{op_type}{self._count}"
        node = ir.Node(domain, op_type, inputs, attributes=ir.convenience.convert_attributes(attributes or {}),
                       num_outputs=num_outputs, name=base)
        for k, value in enumerate(node.outputs):
            value.name = f"{prefix}__{op_type.lower()}{self._count}" + (f"_{k}" if num_outputs > 1 else "")
        try:
            results = evaluate(node)
            if results is None:
                infer_node(node)
        except Exception as exc:  # noqa: BLE001 - InferenceError, ValidationError, the evaluator's own errors
            raise EmitError((str(exc).strip().splitlines() or [type(exc).__name__])[0][:300]) from None
        if results is not None:
            return [self.const(r, f"{prefix}__{op_type.lower()}{self._count}_{k}", r.dtype)
                    for k, r in enumerate(results)]
        self.nodes.append(node)
        return list(node.outputs)

    def model(self, inputs: list[ir.Value], outputs: list[ir.Value], name: str) -> ir.Model:
        opsets = {"": OPSET}
        opsets.update({n.domain: 1 for n in self.nodes if n.domain not in ("", "ai.onnx")})
        graph = ir.Graph(inputs, outputs, nodes=self.nodes, initializers=list(self.initializers.values()),
                         opset_imports=opsets, name=name)
        return ir.Model(graph, ir_version=IR_VERSION, producer_name="modelport")
