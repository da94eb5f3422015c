import numpy as np
import onnx_ir as ir
import pytest
from onnx import helper

from modelport.ir.provenance import FOLDED
from modelport.passes.fold_batchnorm import FoldBatchNormPass
from passes.support import absorbed, apply, bn_params, finish, init, make_model, ops, rng, value_names, vinfo


def _bn(x: str, out: str, channels: int, eps: float, prefix: str = "bn", seed: int = 1):
    node = helper.make_node("BatchNormalization", [x, *(f"{prefix}_{p}" for p in ("gamma", "beta", "mean", "var"))],
                            [out], epsilon=eps)
    return node, bn_params(prefix, channels, seed)


def conv_bn(bias: bool, group: int = 1, channels_in: int = 4, channels_out: int = 6, eps: float = 1e-3):
    r = rng(3)
    w = r.normal(0, 0.5, (channels_out, channels_in // group, 3, 3)).astype(np.float32)
    inits = [init("w", w)]
    inputs = ["x", "w"]
    if bias:
        inits.append(init("b", r.normal(0, 0.5, channels_out).astype(np.float32)))
        inputs.append("b")
    bn, params = _bn("conv0", "bn0", channels_out, eps)
    nodes = [helper.make_node("Conv", inputs, ["conv0"], pads=[1, 1, 1, 1], group=group), bn]
    return make_model(nodes, [vinfo("x", [2, channels_in, 5, 5])], [vinfo("bn0", None)], inits + params)


@pytest.mark.parametrize("eps", [1e-3, 2e-5])
@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("group,cin,cout", [(1, 4, 6), (2, 4, 6), (4, 4, 4)], ids=["plain", "grouped", "depthwise"])
def test_conv(bias, group, cin, cout, eps):
    model, modified = apply(conv_bn(bias, group, cin, cout, eps), FoldBatchNormPass())
    assert modified
    assert ops(model) == ["Conv"]
    conv = next(iter(model.graph))
    assert len(conv.inputs) == 3 and conv.inputs[2].const_value is not None  # a bias, created when missing
    assert conv.outputs[0].name == "bn0"
    assert absorbed(model) == {"conv0": ("bn0", FOLDED)}
    # the old weights and BN parameters are gone, the new ones are initializers
    assert not {"w", "b", "bn_gamma", "bn_var"} & set(model.graph.initializers)
    assert conv.inputs[1].is_initializer()


def conv_transpose_bn(group: int, bias: bool, eps: float):
    r = rng(4)
    cin, cout_g = 4, 3
    cout = cout_g * group
    inits = [init("w", r.normal(0, 0.5, (cin, cout_g, 3, 3)).astype(np.float32))]
    inputs = ["x", "w"]
    if bias:
        inits.append(init("b", r.normal(0, 0.5, cout).astype(np.float32)))
        inputs.append("b")
    bn, params = _bn("deconv0", "bn0", cout, eps)
    nodes = [helper.make_node("ConvTranspose", inputs, ["deconv0"], strides=[2, 2], group=group), bn]
    return make_model(nodes, [vinfo("x", [2, cin, 4, 4])], [vinfo("bn0", None)], inits + params)


@pytest.mark.parametrize("eps", [1e-3, 2e-5])
@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("group", [1, 2, 4])
def test_conv_transpose(group, bias, eps):
    model, modified = apply(conv_transpose_bn(group, bias, eps), FoldBatchNormPass())
    assert modified and ops(model) == ["ConvTranspose"]
    node = next(iter(model.graph))
    assert node.attributes["group"].as_int() == group
    assert node.inputs[2].const_value.shape.dims == (3 * group,)
    assert absorbed(model) == {"deconv0": ("bn0", FOLDED)}


def gemm_bn(trans_b: int, bias: str, alpha: float = 1.0, beta: float = 1.0, eps: float = 1e-3):
    r = rng(5)
    k, n = 7, 5
    b = r.normal(0, 0.5, (n, k) if trans_b else (k, n)).astype(np.float32)
    inits = [init("B", b)]
    inputs = ["x", "B"]
    if bias == "vector":
        inits.append(init("C", r.normal(0, 0.5, n).astype(np.float32)))
        inputs.append("C")
    elif bias == "matrix":
        inits.append(init("C", r.normal(0, 0.5, (3, n)).astype(np.float32)))
        inputs.append("C")
    bn, params = _bn("fc0", "bn0", n, eps)
    gemm = helper.make_node("Gemm", inputs, ["fc0"], transB=trans_b, alpha=alpha, beta=beta)
    return make_model([gemm, bn], [vinfo("x", [3, k])], [vinfo("bn0", None)], inits + params)


@pytest.mark.parametrize("eps", [1e-3, 2e-5])
@pytest.mark.parametrize("bias,alpha,beta", [("vector", 1.0, 1.0), ("none", 1.0, 1.0), ("vector", 0.5, 2.0),
                                             ("matrix", 1.5, 0.25)])
@pytest.mark.parametrize("trans_b", [0, 1])
def test_gemm(trans_b, bias, alpha, beta, eps):
    model, modified = apply(gemm_bn(trans_b, bias, alpha, beta, eps), FoldBatchNormPass())
    assert modified and ops(model) == ["Gemm"]
    gemm = next(iter(model.graph))
    assert gemm.attributes["transB"].as_int() == trans_b
    assert absorbed(model) == {"fc0": ("bn0", FOLDED)}


def test_producer_with_two_readers_is_not_folded():
    proto = conv_bn(True)
    proto.graph.node.append(helper.make_node("Relu", ["conv0"], ["relu0"]))
    proto.graph.output.append(vinfo("relu0", None))
    model, modified = apply(finish(proto), FoldBatchNormPass())
    assert not modified
    assert ops(model) == ["Conv", "BatchNormalization", "Relu"]
    assert absorbed(model) == {}


def test_producer_output_that_is_a_graph_output_is_not_folded():
    proto = conv_bn(True)
    proto.graph.output.append(vinfo("conv0", None))
    model, modified = apply(finish(proto), FoldBatchNormPass())
    assert not modified and "BatchNormalization" in ops(model)


def test_non_constant_parameter_is_not_folded():
    proto = conv_bn(True)
    proto.graph.input.append(vinfo("bn_var", [6]))  # an initializer that is also an input: overridable
    model, modified = apply(finish(proto), FoldBatchNormPass())
    assert not modified and "BatchNormalization" in ops(model)


def test_bn_inside_the_graph_keeps_its_name_for_the_next_node():
    proto = conv_bn(False)
    proto.graph.node.append(helper.make_node("Relu", ["bn0"], ["relu0"]))
    del proto.graph.output[:]
    proto.graph.output.append(vinfo("relu0", None))
    model, modified = apply(finish(proto), FoldBatchNormPass())
    assert modified and ops(model) == ["Conv", "Relu"]
    relu = list(model.graph)[1]
    assert relu.inputs[0].name == "bn0" and relu.inputs[0].producer().op_type == "Conv"
    assert "conv0" not in value_names(model)
    assert absorbed(model) == {"conv0": ("bn0", FOLDED)}


def test_shared_weight_is_not_mutated():
    """Two convs read the same weight; only one is followed by a BN."""
    r = rng(7)
    w = r.normal(0, 0.5, (4, 4, 3, 3)).astype(np.float32)
    bn, params = _bn("conv0", "bn0", 4, 1e-3)
    nodes = [helper.make_node("Conv", ["x", "w"], ["conv0"], pads=[1, 1, 1, 1]), bn,
             helper.make_node("Conv", ["x", "w"], ["conv1"], pads=[1, 1, 1, 1])]
    proto = make_model(nodes, [vinfo("x", [1, 4, 5, 5])], [vinfo("bn0", None), vinfo("conv1", None)],
                       [init("w", w)] + params)
    model, modified = apply(finish(proto), FoldBatchNormPass())
    assert modified and ops(model) == ["Conv", "Conv"]
    first, second = model.graph
    assert second.inputs[1].name == "w"
    np.testing.assert_array_equal(second.inputs[1].const_value.numpy(), w)
    assert first.inputs[1] is not second.inputs[1]


def test_two_bns_on_one_shared_weight_each_get_their_own():
    r = rng(8)
    w = r.normal(0, 0.5, (4, 4, 1, 1)).astype(np.float32)
    bn0, p0 = _bn("conv0", "bn0", 4, 1e-3, "bnA", seed=2)
    bn1, p1 = _bn("conv1", "bn1", 4, 2e-5, "bnB", seed=3)
    nodes = [helper.make_node("Conv", ["x", "w"], ["conv0"]), bn0, helper.make_node("Conv", ["x", "w"], ["conv1"]), bn1]
    proto = make_model(nodes, [vinfo("x", [1, 4, 3, 3])], [vinfo("bn0", None), vinfo("bn1", None)],
                       [init("w", w)] + p0 + p1)
    model, modified = apply(finish(proto), FoldBatchNormPass())
    assert modified and ops(model) == ["Conv", "Conv"]
    assert absorbed(model) == {"conv0": ("bn0", FOLDED), "conv1": ("bn1", FOLDED)}
    assert "w" not in model.graph.initializers


def test_training_mode_bn_is_not_folded():
    proto = conv_bn(True)
    proto.graph.node[1].attribute.append(helper.make_attribute("training_mode", 1))
    model = ir.from_proto(proto)
    assert not FoldBatchNormPass()(model).modified
    assert "BatchNormalization" in ops(model)
