"""Proto helpers: a model without its weight data, for checks and shape inference."""
from __future__ import annotations

import onnx
import onnx_ir as ir

SMALL = 1024


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
    """A copy of ``proto`` without weight data: its initializers, and ``weights``, become typed inputs
    (``weights`` of at most ``SMALL`` elements stay constants: shape inference needs their values).

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
    small = [v for v in weights if v.const_value.size <= SMALL]  # shapes, axes, scalars: inference needs their values
    for v in small:
        tensor = ir.serde.serialize_tensor(v.const_value)
        tensor.name = v.name
        light.graph.initializer.append(tensor)
    light.graph.input.extend(onnx.helper.make_tensor_value_info(
        v.name, v.const_value.dtype.value, [int(d) for d in v.const_value.shape.dims]) for v in weights if v not in small)
    light.graph.output.extend(graph.output)
    light.graph.value_info.extend(graph.value_info)
    return light


def _readable(dim_param: str) -> str:
    """The model's own dim names (N, H, W, ...) as they are; shape inference's made-up ones ('unk__3') as '?'."""
    return "?" if not dim_param or dim_param.startswith("unk__") else dim_param


def value_shapes(model: ir.Model) -> dict[str, tuple]:
    """Every value's shape by ONNX shape inference (data propagation on) over the weightless model."""
    proto = weightless(*skeleton(model))
    inferred = onnx.shape_inference.infer_shapes(proto, data_prop=True)
    shapes = {}
    for info in [*inferred.graph.input, *inferred.graph.value_info, *inferred.graph.output]:
        dims = info.type.tensor_type.shape.dim
        shapes[info.name] = tuple(d.dim_value if d.HasField("dim_value") else _readable(d.dim_param) for d in dims)
    return shapes
