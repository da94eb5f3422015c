"""Small ONNX models built with onnx.helper, and onnxruntime runs of the ORIGINAL files
(the reference every ONNX-frontend test compares against)."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto, helper, numpy_helper

F = TensorProto.FLOAT
R = np.random.default_rng(7)
W = R.normal(0, 0.5, (8, 3, 3, 3)).astype(np.float32)
B = R.normal(0, 0.5, (8,)).astype(np.float32)


def init(name: str, array) -> onnx.TensorProto:
    return numpy_helper.from_array(np.asarray(array), name)


def const(name: str, array) -> onnx.NodeProto:
    return helper.make_node("Constant", [], [name], value=numpy_helper.from_array(np.asarray(array)))


def vinfo(name: str, shape, dtype=F) -> onnx.ValueInfoProto:
    return helper.make_tensor_value_info(name, dtype, shape)


def make(nodes, inputs, outputs, inits=(), opset: int = 17, ir_version: int | None = None) -> onnx.ModelProto:
    graph = helper.make_graph(nodes, "g", inputs, outputs, list(inits))
    ir_version = ir_version or {7: 3, 8: 3, 9: 4, 10: 5, 11: 6, 12: 7}.get(opset, 8)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)], ir_version=ir_version)


def conv_relu(shape=(1, 3, 8, 8), opset: int = 17) -> onnx.ModelProto:
    """x -> Conv(w, b, pad 1) -> Relu -> y, weights as initializers 'w' and 'b'."""
    out = [shape[0], 8, *shape[2:]] if all(isinstance(d, int) for d in shape) else None
    return make([helper.make_node("Conv", ["x", "w", "b"], ["c"], pads=[1, 1, 1, 1]),
                 helper.make_node("Relu", ["c"], ["y"])],
                [vinfo("x", list(shape))], [vinfo("y", out)], [init("w", W), init("b", B)], opset)


def save(proto: onnx.ModelProto, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    onnx.save(proto, str(path))
    return path


def ort_run(model: Path | onnx.ModelProto, feeds: dict) -> dict[str, np.ndarray]:
    """The graph outputs of ``model`` (a file, with its external data, or a proto) in onnxruntime."""
    source = str(model) if isinstance(model, Path) else model.SerializeToString()
    sess = ort.InferenceSession(source, providers=["CPUExecutionProvider"])
    names = [o.name for o in sess.get_outputs()]
    return dict(zip(names, sess.run(names, feeds)))


def assert_same(ref: dict, got: dict, atol: float = 1e-5) -> None:
    assert set(ref) == set(got)
    for name in ref:
        assert ref[name].shape == got[name].shape, (name, ref[name].shape, got[name].shape)
        np.testing.assert_allclose(got[name], ref[name], rtol=1e-5, atol=atol, err_msg=name)


def opset_of(path: Path) -> int:
    return next(o.version for o in onnx.load(str(path)).opset_import if o.domain in ("", "ai.onnx"))


def op_types(path: Path) -> list[str]:
    return [n.op_type for n in onnx.load(str(path)).graph.node]
