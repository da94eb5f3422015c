import numpy as np
import pytest
from onnx import helper

from modelport.passes.caffe_floor_pooling import CaffeFloorPoolingPass, caffe_ceil_size
from passes.support import apply, make_model, ops, vinfo


def pool(op: str, size, kernel=3, stride=2, pad=0, **extra):
    attrs = {"kernel_shape": [kernel] * 2, "strides": [stride] * 2, "pads": [pad] * 4, **extra}
    if op == "AveragePool":
        attrs.setdefault("count_include_pad", 1)
    nodes = [helper.make_node(op, ["x"], ["p"], **attrs), helper.make_node("Relu", ["p"], ["y"])]
    return make_model(nodes, [vinfo("x", [1, 2, *size])], [vinfo("y", None)])


@pytest.mark.parametrize("n,k,s,p,expected", [(10, 3, 2, 0, 5), (11, 3, 2, 0, 5), (10, 3, 2, 1, 6), (11, 3, 3, 1, 4),
                                              (12, 2, 2, 0, 6), (5, 3, 2, 1, 3)])
def test_caffe_ceil_size(n, k, s, p, expected):
    assert caffe_ceil_size(n, k, s, p) == expected


@pytest.mark.parametrize("op", ["MaxPool", "AveragePool"])
@pytest.mark.parametrize("size,pad", [((10, 9), 0), ((10, 7), 1), ((8, 13), 1)])
def test_floor_pool_becomes_ceil_pool_plus_crop(op, size, pad):
    model, modified = apply(pool(op, size, pad=pad), CaffeFloorPoolingPass())
    assert modified and ops(model) == [op, "Slice", "Relu"]
    first, crop, _ = model.graph
    assert first.attributes["ceil_mode"].as_int() == 1
    assert crop.outputs[0].name == "p" and first.outputs[0].name == "p__ceil"  # the source name keeps its values
    assert list(first.attributes["pads"].as_ints()) == [pad] * 4  # padding never changed


@pytest.mark.parametrize("size", [(11, 9), (7, 7)])
def test_sizes_where_floor_and_ceil_agree_are_left_alone(size):
    model, modified = apply(pool("MaxPool", size), CaffeFloorPoolingPass())
    assert not modified and ops(model) == ["MaxPool", "Relu"]


def test_ceil_mode_pool_is_left_alone():
    model, modified = apply(pool("MaxPool", (10, 10), ceil_mode=1), CaffeFloorPoolingPass())
    assert not modified


@pytest.mark.parametrize("mode", ["SAME_UPPER", "SAME_LOWER"])
def test_auto_pad_becomes_explicit_pads(mode):
    nodes = [helper.make_node("MaxPool", ["x"], ["y"], kernel_shape=[3, 3], strides=[2, 2], auto_pad=mode)]
    model, modified = apply(make_model(nodes, [vinfo("x", [1, 2, 10, 9])], [vinfo("y", None)]), CaffeFloorPoolingPass())
    node = next(iter(model.graph))
    assert modified and "auto_pad" not in node.attributes and len(node.attributes["pads"].as_ints()) == 4


def test_symbolic_shapes_are_left_alone():
    nodes = [helper.make_node("MaxPool", ["x"], ["y"], kernel_shape=[3, 3], strides=[2, 2])]
    proto = make_model(nodes, [vinfo("x", [1, 2, "H", "W"])], [vinfo("y", None)])
    feeds = [{"x": np.random.default_rng(0).normal(size=(1, 2, 10, 9)).astype(np.float32)}]
    model, modified = apply(proto, CaffeFloorPoolingPass(), feeds)
    assert not modified
