"""Support for the Caffe backend tests: one-op ONNX models converted with ``--to caffe``
and run in OpenCV dnn (in process, for speed: these nets are well-formed) against
onnxruntime on the ORIGINAL model, every shared tensor compared."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
from google.protobuf import text_format
from onnx import TensorProto, helper, numpy_helper

import modelport
from modelport.backends.caffe import caffe_pb2
from modelport.runtimes.onnxruntime_runner import OnnxRuntimeRunner
from modelport.runtimes.opencv_caffe_runner import OpenCVCaffeRunner
from modelport.verify.api import verify_runners

F = TensorProto.FLOAT


def init(name: str, array) -> onnx.TensorProto:
    return numpy_helper.from_array(np.asarray(array), name)


def model(nodes, inputs: dict[str, tuple], outputs: list[str], initializers=()) -> onnx.ModelProto:
    graph = helper.make_graph(nodes, "g", [helper.make_tensor_value_info(k, F, list(v)) for k, v in inputs.items()],
                              [helper.make_tensor_value_info(o, F, None) for o in outputs], list(initializers))
    proto = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=8)
    inferred = onnx.shape_inference.infer_shapes(proto, strict_mode=True).graph
    types = {v.name: v.type for v in [*inferred.value_info, *inferred.output]}
    for output in proto.graph.output:
        output.type.CopyFrom(types[output.name])
    onnx.checker.check_model(proto)
    return proto


def read_prototxt(path: Path) -> caffe_pb2.NetParameter:
    net = caffe_pb2.NetParameter()
    text_format.Parse(Path(path).read_text(), net)
    return net


def convert_and_compare(tmp_path: Path, proto: onnx.ModelProto, extra: dict | None = None, seed: int = 0,
                        input_range=(-2.0, 2.0)):
    """Convert ``proto`` to Caffe, compare OpenCV with onnxruntime on the original; returns
    (the written NetParameter, the comparison)."""
    source = tmp_path / "model.onnx"
    onnx.save(proto, source)
    shapes = {v.name: tuple(d.dim_value for d in v.type.tensor_type.shape.dim) for v in proto.graph.input}
    result = modelport.convert(source, to="caffe", output_dir=tmp_path / "caffe", inputs=shapes, extra=extra)
    prototxt = result.files[0]
    assert prototxt.suffix == ".prototxt" and result.files[1].suffix == ".caffemodel"
    reference, candidate = OnnxRuntimeRunner(source), OpenCVCaffeRunner(prototxt)
    report = verify_runners(reference, candidate, shapes=[shapes], seed=seed, input_range=input_range)
    cmp = report.runs[0].comparison
    first = cmp.first_divergence
    assert first is None, f"first divergence at {first}"
    assert {r.name for r in cmp.outputs} == {o.name for o in proto.graph.output}, "outputs not all compared"
    return read_prototxt(prototxt), cmp


def layer_types(net: caffe_pb2.NetParameter) -> list[str]:
    return [layer.type for layer in net.layer]
