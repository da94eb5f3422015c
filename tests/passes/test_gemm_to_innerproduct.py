import numpy as np
import pytest
from onnx import helper

from modelport.passes.gemm_to_innerproduct import GemmToInnerProductPass
from passes.support import apply, init, make_model, ops, rng, vinfo


@pytest.mark.parametrize("trans_b,alpha,beta,c_shape", [(0, 1.0, 1.0, (5,)), (1, 0.5, 2.0, (1, 5)), (0, 2.0, 1.0, None),
                                                        (1, 1.0, 0.5, ())])
def test_gemm_to_canonical_form(trans_b, alpha, beta, c_shape):
    r = rng(2)
    b = r.normal(0, 1, (5, 7) if trans_b else (7, 5)).astype(np.float32)
    inits = [init("B", b)] + ([init("C", r.normal(0, 1, c_shape).astype(np.float32))] if c_shape is not None else [])
    node = helper.make_node("Gemm", ["x", "B"] + (["C"] if c_shape is not None else []), ["y"], transB=trans_b,
                            alpha=alpha, beta=beta)
    model, modified = apply(make_model([node], [vinfo("x", [3, 7])], [vinfo("y", None)], inits), GemmToInnerProductPass())
    assert modified and ops(model) == ["Gemm"]
    gemm = next(iter(model.graph))
    assert gemm.attributes["transB"].as_int() == 1 and "alpha" not in gemm.attributes and "beta" not in gemm.attributes
    assert gemm.inputs[1].const_value.shape.dims == (5, 7)
    if c_shape is not None:
        assert gemm.inputs[2].const_value.shape.dims == (5,)
    assert gemm.outputs[0].name == "y"


def test_matmul_becomes_gemm():
    proto = make_model([helper.make_node("MatMul", ["x", "B"], ["y"])], [vinfo("x", [2, 6])], [vinfo("y", None)],
                       [init("B", rng(3).normal(0, 1, (6, 4)).astype(np.float32))])
    model, modified = apply(proto, GemmToInnerProductPass())
    assert modified and ops(model) == ["Gemm"]


@pytest.mark.parametrize("case", ["canonical", "row-varying-C", "transA", "matmul-3d"])
def test_left_alone(case):
    r = rng(4)
    if case == "matmul-3d":
        proto = make_model([helper.make_node("MatMul", ["x", "B"], ["y"])], [vinfo("x", [2, 3, 6])], [vinfo("y", None)],
                           [init("B", r.normal(0, 1, (6, 4)).astype(np.float32))])
    else:
        b = r.normal(0, 1, (5, 7)).astype(np.float32)
        c = r.normal(0, 1, (3, 5) if case == "row-varying-C" else (5,)).astype(np.float32)
        trans_a = int(case == "transA")
        node = helper.make_node("Gemm", ["x", "B", "C"], ["y"], transB=1, transA=trans_a)
        proto = make_model([node], [vinfo("x", [7, 3] if trans_a else [3, 7])], [vinfo("y", None)],
                           [init("B", b), init("C", c)])
    model, modified = apply(proto, GemmToInnerProductPass())
    assert not modified
