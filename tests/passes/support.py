"""Test support for passes: build small ONNX models, run them in onnxruntime before and
after a pass on the same random inputs, compare, and read the provenance records."""
from __future__ import annotations

import numpy as np
import onnx
import onnx_ir as ir
import onnxruntime as ort
from onnx import TensorProto, helper, numpy_helper

from modelport.ir import provenance

REL_ATOL = 1e-4
ABS_FLOOR = 1e-5
COSINE_MIN = 0.99999
F = TensorProto.FLOAT


def rng(seed: int = 0) -> np.random.Generator:
    return np.random.default_rng(seed)


def init(name: str, array) -> onnx.TensorProto:
    return numpy_helper.from_array(np.asarray(array), name)


def vinfo(name: str, shape, dtype=F) -> onnx.ValueInfoProto:
    return helper.make_tensor_value_info(name, dtype, shape)


def make_model(nodes, inputs, outputs, initializers=()) -> onnx.ModelProto:
    """The checked model; outputs declared without a shape get the one ONNX infers (and
    intermediate tensors stay without value_info, as a converter's output may be)."""
    graph = helper.make_graph(nodes, "g", inputs, outputs, list(initializers))
    return finish(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=8))


def finish(proto: onnx.ModelProto) -> onnx.ModelProto:
    """``proto`` (edited in place) with shapes on its outputs, checked."""
    inferred = onnx.shape_inference.infer_shapes(proto, strict_mode=True).graph
    types = {v.name: v.type for v in [*inferred.value_info, *inferred.output]}
    for output in proto.graph.output:
        if not output.type.tensor_type.HasField("shape") and output.name in types:
            output.type.CopyFrom(types[output.name])
    onnx.checker.check_model(proto)
    return proto


def bn_params(prefix: str, channels: int, seed: int = 1) -> list[onnx.TensorProto]:
    """gamma, beta, mean, var (var in [0.5, 2]) named ``{prefix}_gamma`` ..."""
    r = rng(seed)
    return [init(f"{prefix}_gamma", r.normal(1, 0.5, channels).astype(np.float32)),
            init(f"{prefix}_beta", r.normal(0, 0.5, channels).astype(np.float32)),
            init(f"{prefix}_mean", r.normal(0, 0.5, channels).astype(np.float32)),
            init(f"{prefix}_var", r.uniform(0.5, 2.0, channels).astype(np.float32))]


def run(model, feeds: dict) -> dict[str, np.ndarray]:
    proto = ir.to_proto(model) if isinstance(model, ir.Model) else model
    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    session = ort.InferenceSession(proto.SerializeToString(), options, providers=["CPUExecutionProvider"])
    names = [o.name for o in session.get_outputs()]
    return dict(zip(names, session.run(names, feeds)))


def assert_close(ref: np.ndarray, got: np.ndarray, what: str = "output") -> None:
    assert ref.shape == got.shape, f"{what}: shape {got.shape} != {ref.shape}"
    ref64, got64 = ref.astype(np.float64).ravel(), got.astype(np.float64).ravel()
    scale = float(np.abs(ref64).max()) if ref64.size else 0.0
    err = float(np.abs(ref64 - got64).max()) if ref64.size else 0.0
    assert err <= REL_ATOL * scale + ABS_FLOOR, f"{what}: max abs error {err:.3g} (max|ref| {scale:.3g})"
    norms = np.linalg.norm(ref64) * np.linalg.norm(got64)
    if norms > 0:
        cosine = float(ref64 @ got64 / norms)
        assert cosine >= COSINE_MIN, f"{what}: cosine {cosine:.7f}"


def feeds_for(proto: onnx.ModelProto, seed: int = 0, shapes: dict | None = None) -> dict[str, np.ndarray]:
    r = rng(seed)
    stored = {t.name for t in proto.graph.initializer}
    feeds = {}
    for value in proto.graph.input:
        if value.name in stored:
            continue
        shape = (shapes or {}).get(value.name) or [d.dim_value for d in value.type.tensor_type.shape.dim]
        feeds[value.name] = r.normal(0, 1, shape).astype(np.float32)
    return feeds


def apply(proto: onnx.ModelProto, pass_: ir.passes.PassBase, feeds: list[dict] | dict | None = None):
    """Run ``proto`` in onnxruntime, apply ``pass_`` to its onnx_ir form, check the result
    (onnx checker, same output names, same outputs on the same inputs); ``(model, modified)``."""
    feed_sets = feeds if isinstance(feeds, list) else [feeds or feeds_for(proto)]
    before = [run(proto, f) for f in feed_sets]
    model = ir.from_proto(proto)
    result = pass_(model)
    assert result.model is model
    after_proto = ir.to_proto(model)
    onnx.checker.check_model(after_proto, full_check=True)
    assert [o.name for o in after_proto.graph.output] == [o.name for o in proto.graph.output]
    for feed, ref in zip(feed_sets, before):
        got = run(after_proto, feed)
        assert got.keys() == ref.keys()
        for name in ref:
            assert_close(ref[name], got[name], name)
    return model, result.modified


def ops(model: ir.Model) -> list[str]:
    return [node.op_type for node in model.graph]


def absorbed(model: ir.Model) -> dict[str, tuple[str, str]]:
    return provenance.absorbed(model.metadata_props)


def value_names(model: ir.Model) -> set[str]:
    graph = model.graph
    return {v.name for v in graph.inputs} | set(graph.initializers) | {v.name for n in graph for v in n.outputs}
