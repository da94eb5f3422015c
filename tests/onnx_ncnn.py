"""Test support: one-op ONNX models written to a file, converted to ncnn and verified against
onnxruntime running that original file."""
from __future__ import annotations

import numpy as np
import onnx
from onnx import helper

from ncnn_support import convert_and_verify
from passes.support import F, init, make_model, vinfo


def one_op(op: str, inputs: list, shape, attrs: dict | None = None, inits=(), out_shape=None, outputs=("y",),
           extra_nodes=()):
    """A model ``y = op(x, *inits)``; ``inputs`` names the node inputs ("x" is the graph input)."""
    nodes = [*extra_nodes, helper.make_node(op, inputs, list(outputs), name="op", **(attrs or {}))]
    return make_model(nodes, [vinfo("x", list(shape))], [vinfo(o, out_shape) for o in outputs], list(inits))


def check(proto, tmp_path, shape, input_range=None, extra=None):
    path = tmp_path / "model.onnx"
    onnx.save(proto, str(path))
    result, cmp = convert_and_verify(path, None, {"x": tuple(shape)}, tmp_path / "ncnn", extra=extra,
                                     input_range=input_range)
    assert {r.name for r in cmp.outputs} == {o.name for o in proto.graph.output}
    return result.files[0].read_text(), cmp


def types(text: str) -> list[str]:
    return [line.split()[0] for line in text.splitlines()[2:] if line.strip()]


def const(name, array):
    return init(name, np.asarray(array))


__all__ = ["one_op", "check", "types", "const", "F", "helper", "np"]
