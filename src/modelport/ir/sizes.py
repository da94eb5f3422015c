"""Input sizes a model can take: the first layer a too-small input breaks, and the smallest that works.

Shape inference (data propagation on) runs over the weightless model with the inputs
fixed; the first node, in graph order, whose output has a size <= 0 is where the
input is too small (a window larger than what reaches it). The smallest working
size is found by bisection over the spatial axes, every spatial axis set to the
same size (output sizes only grow with the input's).
"""
from __future__ import annotations

import onnx
import onnx_ir as ir

from modelport.ir.proto import skeleton, weightless


def with_inputs(proto: onnx.ModelProto, shapes: dict[str, tuple]) -> onnx.ModelProto:
    fixed = onnx.ModelProto()
    fixed.CopyFrom(proto)
    del fixed.graph.value_info[:]
    for value in fixed.graph.output:  # shapes inferred at another size must not clash
        value.type.tensor_type.ClearField("shape")
    for value in fixed.graph.input:
        if value.name in shapes:
            dims = value.type.tensor_type.shape
            del dims.dim[:]
            for d in shapes[value.name]:
                dims.dim.add().dim_value = int(d)
    return fixed


def first_break(proto: onnx.ModelProto, shapes: dict[str, tuple]) -> str | None:
    """Where these input sizes break the model ("layer 'x' (Op) would output 1x8x-1x-1"), else None."""
    try:
        inferred = onnx.shape_inference.infer_shapes(with_inputs(proto, shapes), data_prop=True)
    except onnx.shape_inference.InferenceError as exc:
        return str(exc).strip().splitlines()[-1][:300]
    dims = {v.name: [d.dim_value if d.HasField("dim_value") else None for d in v.type.tensor_type.shape.dim]
            for v in [*inferred.graph.value_info, *inferred.graph.output]}
    for node in inferred.graph.node:
        for out in node.output:
            shape = dims.get(out)
            if shape and any(d is not None and d <= 0 for d in shape):
                shown = "x".join("?" if d is None else str(d) for d in shape)
                return f"layer '{out}' ({node.op_type}) would output {shown}"
    return None


def smallest_spatial(proto: onnx.ModelProto, shapes: dict[str, tuple], axes: dict[str, list[int]],
                     limit: int = 4096) -> int | None:
    """The smallest size s such that every window fits with each input's ``axes`` set to s."""
    def works(size: int) -> bool:
        trial = {k: tuple(size if i in axes.get(k, ()) else d for i, d in enumerate(s)) for k, s in shapes.items()}
        return first_break(proto, trial) is None

    if not works(limit):
        return None
    low, high = 1, limit
    while low < high:
        mid = (low + high) // 2
        low, high = (low, mid) if works(mid) else (mid + 1, high)
    return low


def size_problem(model: ir.Model, shapes: dict[str, tuple], axes: dict[str, list[int]]) -> str | None:
    """A sentence when ``shapes`` (every input static) are too small for ``model``, else None.

    ``axes``: each input's size axes (H, W, ...), along which the smallest working size is sought.
    """
    proto = weightless(*skeleton(model))
    broken = first_break(proto, shapes)
    if broken is None:
        return None
    given = ", ".join(f"{k}:{'x'.join(map(str, s))}" for k, s in shapes.items())
    text = f"input {given} does not fit the model: {broken}"
    if any(axes.values()):
        smallest = smallest_spatial(proto, shapes, axes)
        if smallest is not None:
            text += f"; the smallest spatial size at which every window fits is {smallest}x{smallest}"
    return text

