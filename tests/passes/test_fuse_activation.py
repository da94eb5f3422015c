"""FuseActivationPass: ncnn runs the model before and after the pass (and onnxruntime the
original) on the same inputs; the activation is gone, its name survives, the producer's
output name is recorded folded into it."""
import numpy as np
import onnx
import onnx_ir as ir
import pytest
from onnx import helper

from modelport.passes.fuse_activation import FuseActivationPass
from ncnn_support import run_ir_in_ncnn
from passes.support import absorbed, assert_close, feeds_for, init, make_model, ops, run, vinfo

R = np.random.default_rng(7)
ACTS = [
    ("Relu", {}, [], 1), ("LeakyRelu", {"alpha": 0.15}, [], 2), ("Sigmoid", {}, [], 4), ("HardSwish", {}, [], 6),
    ("Clip", {}, [("lo", -0.5), ("hi", 0.7)], 3), ("Clip", {}, [("lo", 0.0)], 3),
]


def _producer(kind: str):
    if kind == "Conv":
        return (helper.make_node("Conv", ["x", "w", "b"], ["y"], name="conv", pads=[1, 1, 1, 1]),
                [init("w", R.normal(size=(4, 3, 3, 3)).astype(np.float32)), init("b", R.normal(size=4).astype(np.float32))],
                (1, 3, 6, 5))
    if kind == "ConvDW":
        return (helper.make_node("Conv", ["x", "w"], ["y"], name="conv", group=3),
                [init("w", R.normal(size=(3, 1, 3, 3)).astype(np.float32))], (1, 3, 6, 5))
    if kind == "ConvTranspose":
        return (helper.make_node("ConvTranspose", ["x", "w"], ["y"], name="deconv", strides=[2, 2]),
                [init("w", R.normal(size=(3, 2, 3, 3)).astype(np.float32))], (1, 3, 4, 5))
    if kind == "Conv1D":
        return (helper.make_node("Conv", ["x", "w"], ["y"], name="conv"),
                [init("w", R.normal(size=(4, 3, 3)).astype(np.float32))], (1, 3, 9))
    return (helper.make_node("Gemm", ["x", "w", "b"], ["y"], name="fc", transB=1),
            [init("w", R.normal(size=(5, 6)).astype(np.float32)), init("b", R.normal(size=5).astype(np.float32))],
            (1, 6))


@pytest.mark.parametrize("kind", ["Conv", "ConvDW", "ConvTranspose", "Conv1D", "Gemm"])
@pytest.mark.parametrize("act,attrs,bounds,code", ACTS, ids=[f"{a[0]}{len(a[2])}" for a in ACTS])
def test_fuse_activation_before_and_after_in_ncnn(tmp_path, kind, act, attrs, bounds, code):
    producer, inits, shape = _producer(kind)
    names = ["y"] + [n for n, _ in bounds]
    inits += [init(n, np.array(v, np.float32)) for n, v in bounds]
    node = helper.make_node(act, names, ["z"], name="act", **attrs)
    proto = make_model([producer, node], [vinfo("x", list(shape))], [vinfo("z", None)], inits)
    feeds = feeds_for(proto)
    truth = run(proto, feeds)["z"]
    model = ir.from_proto(onnx.shape_inference.infer_shapes(proto))  # the ncnn layout needs static shapes
    before = run_ir_in_ncnn(model, feeds, tmp_path / "before")
    result = FuseActivationPass()(model)
    assert result.modified
    assert ops(model) == [producer.op_type]
    fused = next(iter(model.graph))
    assert fused.domain == "modelport" and fused.attributes["activation_type"].as_int() == code
    assert fused.outputs[0].name == "z"
    assert absorbed(model) == {"y": ("z", "folded")}
    after = run_ir_in_ncnn(model, feeds, tmp_path / "after")
    assert "y" in before and "y" not in after
    assert_close(truth, before["z"], "before")
    assert_close(truth, after["z"], "after")
    assert_close(before["z"], after["z"], "before vs after")


def test_activation_of_a_tensor_read_twice_is_not_fused(tmp_path):
    producer, inits, shape = _producer("Conv")
    nodes = [producer, helper.make_node("Relu", ["y"], ["z"]), helper.make_node("Add", ["y", "z"], ["s"])]
    proto = make_model(nodes, [vinfo("x", list(shape))], [vinfo("s", None)], inits)
    model = ir.from_proto(proto)
    assert not FuseActivationPass()(model).modified


def test_activation_of_a_graph_output_is_not_fused():
    producer, inits, shape = _producer("Conv")
    proto = make_model([producer, helper.make_node("Relu", ["y"], ["z"])], [vinfo("x", list(shape))],
                       [vinfo("y", None), vinfo("z", None)], inits)
    model = ir.from_proto(proto)
    assert not FuseActivationPass()(model).modified


def test_clip_with_computed_bound_is_not_fused():
    producer, inits, shape = _producer("Gemm")
    nodes = [producer, helper.make_node("ReduceMax", ["x"], ["m"], keepdims=0),
             helper.make_node("Clip", ["y", "", "m"], ["z"])]
    proto = make_model(nodes, [vinfo("x", list(shape))], [vinfo("z", None)], inits)
    assert not FuseActivationPass()(ir.from_proto(proto)).modified


def test_tanh_is_not_fused():
    producer, inits, shape = _producer("Conv")
    proto = make_model([producer, helper.make_node("Tanh", ["y"], ["z"])], [vinfo("x", list(shape))],
                       [vinfo("z", None)], inits)
    assert not FuseActivationPass()(ir.from_proto(proto)).modified
