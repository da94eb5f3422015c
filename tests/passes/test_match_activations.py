"""MatchActivationsPass: PyTorch's activation patterns become one node; ncnn runs the model
before and after the pass and both match onnxruntime on the original."""
import numpy as np
import onnx
import onnx_ir as ir
import pytest
from onnx import helper

from modelport.passes.match_activations import MatchActivationsPass
from ncnn_support import run_ir_in_ncnn
from passes.support import absorbed, assert_close, init, make_model, ops, run, vinfo

N = helper.make_node


def k(name, v):
    return init(name, np.array(v, np.float32))


PATTERNS = {
    "hardsigmoid_div": ([N("Add", ["x", "three"], ["a"]), N("Clip", ["a", "zero", "six"], ["c"]),
                         N("Div", ["c", "six"], ["y"])], "HardSigmoid", ["a", "c"]),
    "hardsigmoid_mul": ([N("Add", ["three", "x"], ["a"]), N("Clip", ["a", "zero", "six"], ["c"]),
                         N("Mul", ["sixth", "c"], ["y"])], "HardSigmoid", ["a", "c"]),
    "hardswish_div": ([N("Add", ["x", "three"], ["a"]), N("Clip", ["a", "zero", "six"], ["c"]),
                       N("Mul", ["x", "c"], ["m"]), N("Div", ["m", "six"], ["y"])], "HardSwish", ["a", "c", "m"]),
    "hardswish_hardsigmoid": ([N("HardSigmoid", ["x"], ["h"], alpha=1 / 6, beta=0.5), N("Mul", ["h", "x"], ["y"])],
                              "HardSwish", ["h"]),
    "swish": ([N("Sigmoid", ["x"], ["s"]), N("Mul", ["x", "s"], ["y"])], "Swish", ["s"]),
    "mish": ([N("Softplus", ["x"], ["sp"]), N("Tanh", ["sp"], ["t"]), N("Mul", ["x", "t"], ["y"])], "Mish", ["sp", "t"]),
}
CONSTS = [k("three", 3.0), k("zero", 0.0), k("six", 6.0), k("sixth", 1 / 6)]


def _proto(nodes, head=True):
    body = [N("Tanh", ["in"], ["x"])] if head else []  # x computed, not the graph input
    inits = [c for c in CONSTS if any(c.name in n.input for n in nodes)]
    proto = make_model(body + nodes, [vinfo("in", [1, 3, 4, 5])], [vinfo("y", None)], inits)
    return onnx.shape_inference.infer_shapes(proto)


@pytest.mark.parametrize("name", PATTERNS)
def test_pattern_becomes_one_node_same_in_ncnn(tmp_path, name):
    nodes, op, inner = PATTERNS[name]
    proto = _proto(nodes)
    feeds = {"in": np.random.default_rng(0).uniform(-3, 3, (1, 3, 4, 5)).astype(np.float32)}
    truth = run(proto, feeds)["y"]
    model = ir.from_proto(proto)
    before = run_ir_in_ncnn(model, feeds, tmp_path / "before")
    assert MatchActivationsPass()(model).modified
    assert ops(model) == ["Tanh", op]
    assert absorbed(model) == {n: ("y", "folded") for n in inner}
    after = run_ir_in_ncnn(model, feeds, tmp_path / "after")
    for got in (before["y"], after["y"]):
        assert_close(truth, got)
    assert set(inner) <= set(before) and not set(inner) & set(after)


def test_intermediate_read_elsewhere_is_not_matched():
    nodes = [N("Sigmoid", ["x"], ["s"]), N("Mul", ["x", "s"], ["m"]), N("Add", ["m", "s"], ["y"])]
    model = ir.from_proto(_proto(nodes))
    assert not MatchActivationsPass()(model).modified


def test_wrong_constants_are_not_matched():
    nodes = [N("Add", ["x", "six"], ["a"]), N("Clip", ["a", "zero", "six"], ["c"]), N("Div", ["c", "six"], ["y"])]
    assert not MatchActivationsPass()(ir.from_proto(_proto(nodes))).modified


def test_sigmoid_of_another_tensor_is_not_swish():
    nodes = [N("Relu", ["x"], ["r"]), N("Sigmoid", ["r"], ["s"]), N("Mul", ["x", "s"], ["y"])]
    assert not MatchActivationsPass()(ir.from_proto(_proto(nodes))).modified
