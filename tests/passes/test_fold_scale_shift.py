import numpy as np
import pytest
from onnx import helper

from modelport.ir.provenance import FOLDED
from modelport.passes.fold_scale_shift import FoldScaleShiftPass
from passes.support import absorbed, apply, finish, init, make_model, ops, rng, value_names, vinfo


def producer(kind: str, bias: bool, trans_b: int = 0):
    """``(nodes, inits, input info, channels, spatial)`` for a Conv/ConvTranspose/Gemm named ``y``."""
    r = rng(11)
    if kind == "Conv":
        w, cout, node_attrs, x = (6, 2, 3, 3), 6, {"pads": [1, 1, 1, 1], "group": 2}, [2, 4, 5, 5]
    elif kind == "ConvTranspose":
        w, cout, node_attrs, x = (4, 3, 2, 2), 6, {"strides": [2, 2], "group": 2}, [2, 4, 3, 3]
    else:
        w, cout, node_attrs, x = ((5, 7) if trans_b else (7, 5)), 5, {"transB": trans_b, "beta": 0.5}, [3, 7]
    inits = [init("w", r.normal(0, 0.5, w).astype(np.float32))]
    inputs = ["x", "w"]
    if bias:
        inits.append(init("b", r.normal(0, 0.5, cout).astype(np.float32)))
        inputs.append("b")
    return [helper.make_node(kind, inputs, ["y"], **node_attrs)], inits, vinfo("x", x), cout


def with_ops(kind, steps, bias=True, trans_b=0, extra_outputs=(), const_first=False):
    """``producer -> steps`` where steps are ``(op, constant array)``; outputs named z0, z1, ..."""
    nodes, inits, x, _ = producer(kind, bias, trans_b)
    prev = "y"
    for k, (op, array) in enumerate(steps):
        inits.append(init(f"c{k}", np.asarray(array, np.float32)))
        operands = [f"c{k}", prev] if const_first else [prev, f"c{k}"]
        nodes.append(helper.make_node(op, operands, [f"z{k}"]))
        prev = f"z{k}"
    outputs = [vinfo(prev, None), *(vinfo(n, None) for n in extra_outputs)]
    return make_model(nodes, [x], outputs, inits)


R = rng(12)
C6 = R.normal(1, 0.5, 6).astype(np.float32)
C5 = R.normal(1, 0.5, 5).astype(np.float32)


@pytest.mark.parametrize("kind", ["Conv", "ConvTranspose"])
@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("op,shape", [("Mul", (6, 1, 1)), ("Add", (1, 6, 1, 1)), ("Mul", ()), ("Add", (1,)),
                                      ("Mul", (1, 1, 1, 1))])
def test_conv_like(kind, bias, op, shape):
    const = C6.reshape(shape) if shape and np.prod(shape) == 6 else np.float32(-0.7).reshape(shape)
    model, modified = apply(with_ops(kind, [(op, const)], bias), FoldScaleShiftPass())
    assert modified and ops(model) == [kind]
    node = next(iter(model.graph))
    assert node.outputs[0].name == "z0"
    assert absorbed(model) == {"y": ("z0", FOLDED)}
    has_bias = len(node.inputs) > 2 and node.inputs[2] is not None
    assert has_bias == (bias or op == "Add")


@pytest.mark.parametrize("trans_b", [0, 1])
@pytest.mark.parametrize("op,shape", [("Mul", (5,)), ("Add", (1, 5)), ("Mul", ()), ("Add", (5,))])
@pytest.mark.parametrize("bias", [True, False])
def test_gemm(trans_b, op, shape, bias):
    const = C5.reshape(shape) if shape else np.float32(1.3)
    model, modified = apply(with_ops("Gemm", [(op, const)], bias, trans_b), FoldScaleShiftPass())
    assert modified and ops(model) == ["Gemm"]
    assert absorbed(model) == {"y": ("z0", FOLDED)}


def test_constant_as_first_operand():
    model, modified = apply(with_ops("Conv", [("Mul", C6.reshape(6, 1, 1))], const_first=True), FoldScaleShiftPass())
    assert modified and ops(model) == ["Conv"]


def test_chain_mul_add_folds_in_one_run():
    steps = [("Mul", C6.reshape(1, 6, 1, 1)), ("Add", -C6.reshape(6, 1, 1))]
    model, modified = apply(with_ops("Conv", steps, bias=False), FoldScaleShiftPass())
    assert modified and ops(model) == ["Conv"]
    assert next(iter(model.graph)).outputs[0].name == "z1"
    assert absorbed(model) == {"y": ("z1", FOLDED), "z0": ("z1", FOLDED)}
    assert not {"y", "z0", "c0", "c1", "w"} & value_names(model)


def test_inner_node_keeps_its_name():
    proto = with_ops("Conv", [("Add", C6.reshape(6, 1, 1)), ("Add", np.float32(0))])  # second Add: no producer
    proto.graph.node[-1].op_type = "Sub"
    model, modified = apply(finish(proto), FoldScaleShiftPass())
    assert modified and ops(model) == ["Conv", "Sub"]
    assert list(model.graph)[1].inputs[0].name == "z0"


@pytest.mark.parametrize("kind,op,const", [
    ("Conv", "Add", C6[:5].reshape(5)),                        # (C,) on NCHW broadcasts over width W=5
    ("Conv", "Mul", R.normal(1, 0.5, (1, 1, 5, 5))),            # varies over spatial positions
    ("Conv", "Mul", R.normal(1, 0.5, (2, 6, 1, 1))),            # varies over the batch
    ("Conv", "Add", R.normal(1, 0.5, (1, 1, 6, 1, 1))),         # more dims than the output: broadcasts it
    ("Gemm", "Add", R.normal(1, 0.5, (3, 5))),                  # per row and column
    ("Gemm", "Mul", R.normal(1, 0.5, (3, 1))),                  # per row
], ids=["width", "spatial", "batch", "rank", "gemm-matrix", "gemm-rows"])
def test_inexact_broadcast_is_not_folded(kind, op, const):
    model, modified = apply(with_ops(kind, [(op, const)]), FoldScaleShiftPass())
    assert not modified and ops(model) == [kind, op]
    assert absorbed(model) == {}


def test_producer_with_two_readers_is_not_folded():
    proto = with_ops("Conv", [("Mul", C6.reshape(6, 1, 1))], extra_outputs=["y"])
    model, modified = apply(proto, FoldScaleShiftPass())
    assert not modified and ops(model) == ["Conv", "Mul"]


def test_non_constant_operand_is_not_folded():
    nodes, inits, x, _ = producer("Conv", True)
    nodes.append(helper.make_node("Mul", ["y", "s"], ["z0"]))
    proto = make_model(nodes, [x, vinfo("s", [6, 1, 1])], [vinfo("z0", None)], inits)
    feeds = {"x": R.normal(0, 1, (2, 4, 5, 5)).astype(np.float32), "s": C6.reshape(6, 1, 1)}
    model, modified = apply(proto, FoldScaleShiftPass(), feeds)
    assert not modified and ops(model) == ["Conv", "Mul"]
