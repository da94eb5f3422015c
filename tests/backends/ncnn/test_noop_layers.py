"""Layers that would change nothing in ncnn are not written; their names stay comparable."""
import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from ncnn_support import convert_and_verify


def _save(nodes, inputs, outputs, inits, path):
    graph = helper.make_graph(nodes, "g", inputs, outputs, inits)
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=8), str(path))
    return path


def _layers(param) -> list[str]:
    return [line.split()[0] for line in param.read_text().splitlines()[2:]]


def test_flatten_after_global_pooling_and_a_batch_only_reshape_write_no_layer(tmp_path):
    r = np.random.default_rng(0)
    inits = [numpy_helper.from_array(r.normal(0, 0.3, (8, 3, 3, 3)).astype(np.float32), "w"),
             numpy_helper.from_array(r.normal(0, 0.3, (5, 8)).astype(np.float32), "fc_w"),
             numpy_helper.from_array(np.array([5], np.int64), "to_5")]
    nodes = [helper.make_node("Conv", ["x", "w"], ["conv"], pads=[1, 1, 1, 1]),
             helper.make_node("GlobalAveragePool", ["conv"], ["pool"]),
             helper.make_node("Flatten", ["pool"], ["flat"]),
             helper.make_node("Gemm", ["flat", "fc_w"], ["fc"], transB=1),
             helper.make_node("Softmax", ["fc"], ["prob_2d"], axis=1),
             helper.make_node("Reshape", ["prob_2d", "to_5"], ["prob"])]  # (1, 5) -> (5,): the same ncnn blob
    path = _save(nodes, [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 6, 6])],
                 [helper.make_tensor_value_info("prob", TensorProto.FLOAT, [5])], inits, tmp_path / "m.onnx")
    result, cmp = convert_and_verify(path, None, {"x": (1, 3, 6, 6)}, tmp_path / "ncnn")
    layers = _layers(result.files[0])
    assert "Flatten" not in layers and "Reshape" not in layers, layers
    compared = {row.name for row in cmp.rows}
    assert {"flat", "prob_2d", "prob"} <= compared and cmp.missing == []
