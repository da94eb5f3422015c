"""Pooling against onnxruntime: ceil mode tails, count_include_pad both ways, SAME pads,
global pooling (flattened or kept 4-D)."""
import pytest

from onnx_ncnn import check, const, helper, np, one_op, types


WINDOWS = [
    {"kernel_shape": [3, 3], "strides": [2, 2]},
    {"kernel_shape": [3, 3], "strides": [2, 2], "ceil_mode": 1},
    {"kernel_shape": [3, 3], "strides": [2, 2], "pads": [1, 1, 1, 1], "ceil_mode": 1},
    {"kernel_shape": [3, 2], "strides": [2, 1], "pads": [1, 0, 0, 1]},
    {"kernel_shape": [3, 3], "strides": [2, 2], "auto_pad": "SAME_UPPER"},
    {"kernel_shape": [2, 2], "strides": [2, 2], "auto_pad": "SAME_LOWER"},
]
POOLS = [("MaxPool", w) for w in WINDOWS] + [("AveragePool", dict(w, count_include_pad=i)) for w in WINDOWS for i in (0, 1)]


@pytest.mark.parametrize("op,attrs", POOLS)
def test_pool(tmp_path, op, attrs):
    shape = (1, 2, 10, 9)
    text, _ = check(one_op(op, ["x"], shape, attrs), tmp_path, shape, input_range=(0.0, 2.0))
    assert "Pooling" in types(text)


@pytest.mark.parametrize("op", ["GlobalAveragePool", "GlobalMaxPool"])
def test_global_pool_kept_4d(tmp_path, op):
    proto = one_op(op, ["x"], (1, 3, 5, 4))
    text, _ = check(proto, tmp_path, (1, 3, 5, 4))
    assert types(text) == ["Input", "Pooling", "Reshape"]


def test_global_pool_then_flatten_needs_no_reshape(tmp_path):
    proto = one_op("Flatten", ["g"], (1, 3, 5, 4), {"axis": 1},
                   extra_nodes=[helper.make_node("GlobalAveragePool", ["x"], ["g"])])
    text, _ = check(proto, tmp_path, (1, 3, 5, 4))
    assert types(text) == ["Input", "Pooling"]  # the pooled blob is already flat: the Flatten writes nothing


@pytest.mark.parametrize("then", [None, "Flatten", "Relu"])
def test_global_pool_then_1x1_conv_is_inner_product(tmp_path, then):
    """ncnnoptimize's rewrite: a 1x1 convolution of the pooled vector is an InnerProduct."""
    r = np.random.default_rng(0)
    inits = [const("w", r.normal(size=(6, 3, 1, 1)).astype(np.float32)), const("b", r.normal(size=6).astype(np.float32))]
    nodes = [helper.make_node("GlobalAveragePool", ["x"], ["g"]), helper.make_node("Conv", ["g", "w", "b"], ["c"])]
    if then:
        nodes.append(helper.make_node(then, ["c"], ["y"]))
    from passes.support import make_model, vinfo
    proto = make_model(nodes, [vinfo("x", [1, 3, 5, 4])], [vinfo("y" if then else "c", None)], inits)
    text, _ = check(proto, tmp_path, (1, 3, 5, 4))
    expected = {None: ["Input", "Pooling", "InnerProduct", "Reshape"],
                "Flatten": ["Input", "Pooling", "InnerProduct"],  # InnerProduct's blob is flat already
                # the ReLU is fused into the InnerProduct by the ncnn passes
                "Relu": ["Input", "Pooling", "InnerProduct", "Reshape"]}[then]
    assert types(text) == expected


@pytest.mark.parametrize("op", ["MaxPool", "AveragePool"])
@pytest.mark.parametrize("attrs", [
    {"kernel_shape": [3], "strides": [2]},
    {"kernel_shape": [3], "strides": [2], "pads": [1, 1], "ceil_mode": 1, "count_include_pad": 1},
    {"kernel_shape": [2], "strides": [1], "pads": [1, 0]},
])
def test_pool_1d(tmp_path, op, attrs):
    if op == "MaxPool":
        attrs = {k: v for k, v in attrs.items() if k != "count_include_pad"}
    text, _ = check(one_op(op, ["x"], (1, 3, 10), attrs), tmp_path, (1, 3, 10), input_range=(0.0, 2.0))
    assert types(text)[-1] == "Pooling1D"


@pytest.mark.parametrize("op", ["MaxPool", "AveragePool"])
@pytest.mark.parametrize("attrs", [
    {"kernel_shape": [2, 3, 3], "strides": [1, 2, 2]},
    {"kernel_shape": [3, 3, 3], "strides": [2, 2, 2], "pads": [1, 1, 0, 1, 0, 1]},
    {"kernel_shape": [3, 3, 3], "strides": [2, 2, 2], "ceil_mode": 1},
])
def test_pool_3d(tmp_path, op, attrs):
    shape = (1, 2, 6, 7, 8)
    text, _ = check(one_op(op, ["x"], shape, attrs), tmp_path, shape, input_range=(0.0, 2.0))
    assert types(text)[-1] == "Pooling3D"
