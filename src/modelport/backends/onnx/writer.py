"""Write an onnx_ir model as a checked .onnx file, streaming the weights.

The graph is serialized without its initializers (a small "skeleton"), checked with
``onnx.checker.check_model(full_check=True)`` together with the initializers' names,
types and dims, and written; then each initializer follows as its own
``ModelProto.graph`` field holding one ``GraphProto.initializer``. Protobuf merges
repeated occurrences of a message field, so readers see one graph with every
initializer in order, and the weight bytes go from the numpy arrays (views into the
source file) straight to disk: no in-memory copy of the whole model is ever built.

Wire format used: a field is ``varint(number << 3 | 2) varint(len) bytes``;
ModelProto.graph = 7, GraphProto.initializer = 5, TensorProto.raw_data = 9.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import onnx_ir as ir

from modelport.errors import ConversionError

_MODEL_GRAPH, _GRAPH_INITIALIZER, _TENSOR_RAW_DATA = 7, 5, 9


def _varint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def _field_header(number: int, length: int) -> bytes:
    return _varint(number << 3 | 2) + _varint(length)


def _tensor_header(value: ir.Value) -> onnx.TensorProto:
    tensor = onnx.TensorProto()
    tensor.name = value.name
    tensor.data_type = value.const_value.dtype.value
    tensor.dims.extend(int(d) for d in value.const_value.shape.dims)
    return tensor


def _raw_bytes(value: ir.Value) -> np.ndarray:
    array = value.const_value.numpy()
    if array.dtype.byteorder == ">":
        array = array.astype(array.dtype.newbyteorder("<"))
    return np.ascontiguousarray(array)


def skeleton(model: ir.Model) -> tuple[onnx.ModelProto, list[ir.Value]]:
    """The model proto without initializers, and the initializer values in order."""
    graph = model.graph
    inits = list(graph.initializers.values())
    graph.initializers.clear()
    try:
        proto = ir.to_proto(model)
    finally:
        for value in inits:
            graph.register_initializer(value)
    return proto, inits


def weightless(proto: onnx.ModelProto, weights: list[ir.Value] = ()) -> onnx.ModelProto:
    """A copy of ``proto`` without weight data: its initializers, and ``weights``, become typed inputs.

    Node schemas, attributes, types and shape inference see exactly what the full
    model has, without copying (or serializing) hundreds of MB of weights.
    """
    graph = proto.graph
    light = onnx.ModelProto(ir_version=proto.ir_version, producer_name=proto.producer_name)
    light.opset_import.extend(proto.opset_import)
    light.graph.name = graph.name
    light.graph.node.extend(graph.node)
    stored = {t.name for t in graph.initializer}
    light.graph.input.extend(i for i in graph.input if i.name not in stored)
    light.graph.input.extend(onnx.helper.make_tensor_value_info(t.name, t.data_type, list(t.dims))
                             for t in graph.initializer)
    light.graph.input.extend(onnx.helper.make_tensor_value_info(
        v.name, v.const_value.dtype.value, [int(d) for d in v.const_value.shape.dims]) for v in weights)
    light.graph.output.extend(graph.output)
    light.graph.value_info.extend(graph.value_info)
    return light


def check(proto: onnx.ModelProto, inits: list[ir.Value] = ()) -> None:
    """``check_model(full_check=True)`` of the weightless model (tests check written files in full)."""
    try:
        onnx.checker.check_model(weightless(proto, inits), full_check=True)
    except (onnx.checker.ValidationError, onnx.shape_inference.InferenceError) as exc:
        raise ConversionError([str(exc).splitlines()[0]], header="the converted model fails onnx.checker") from None


def write_onnx(model: ir.Model, path: Path) -> None:
    proto, inits = skeleton(model)
    check(proto, inits)
    with open(path, "wb") as f:
        f.write(proto.SerializeToString())
        for value in inits:
            data = _raw_bytes(value)
            head = _tensor_header(value).SerializeToString()
            tensor_len = len(head) + len(_field_header(_TENSOR_RAW_DATA, data.nbytes)) + data.nbytes
            graph_len = len(_field_header(_GRAPH_INITIALIZER, tensor_len)) + tensor_len
            f.write(_field_header(_MODEL_GRAPH, graph_len))
            f.write(_field_header(_GRAPH_INITIALIZER, tensor_len))
            f.write(head)
            f.write(_field_header(_TENSOR_RAW_DATA, data.nbytes))
            f.write(memoryview(data).cast("B"))
