"""One-op models through ``--to caffe``: OpenCV dnn on the written files matches onnxruntime
on the original model, for each emitter and its edge attributes."""
import numpy as np
import pytest
from onnx import helper, numpy_helper

from modelport.backends.caffe import caffe_pb2
from backends.caffe.caffe_support import convert_and_compare, init, layer_types, model

R = np.random.default_rng(0)


def w(*shape, scale=0.5):
    return R.normal(0, scale, shape).astype(np.float32)


@pytest.mark.parametrize("group,dilation,pads,stride,bias", [
    (1, 1, [1, 1, 1, 1], 1, True), (1, 1, [0, 2, 0, 2], 2, False), (2, 1, [1, 1, 1, 1], 1, True),
    (8, 1, [1, 1, 1, 1], 2, True), (1, 2, [2, 2, 2, 2], 1, True)],
    ids=["plain", "pad-w-stride2-nobias", "grouped", "depthwise", "dilated"])
def test_conv(tmp_path, group, dilation, pads, stride, bias):
    inits = [init("w", w(8, 8 // group, 3, 3))] + ([init("b", w(8))] if bias else [])
    node = helper.make_node("Conv", ["x", "w"] + (["b"] if bias else []), ["y"], pads=pads, strides=[stride] * 2,
                            group=group, dilations=[dilation] * 2)
    net, _ = convert_and_compare(tmp_path, model([node], {"x": (1, 8, 11, 9)}, ["y"], inits))
    assert layer_types(net) == ["Convolution"] and net.layer[0].name == net.layer[0].top[0] == "y"


@pytest.mark.parametrize("group,stride", [(1, 2), (2, 2), (1, 1)])
def test_deconvolution(tmp_path, group, stride):
    node = helper.make_node("ConvTranspose", ["x", "w", "b"], ["y"], strides=[stride] * 2, pads=[1, 1, 1, 1],
                            group=group)
    proto = model([node], {"x": (1, 4, 5, 6)}, ["y"], [init("w", w(4, 3, 4, 4)), init("b", w(3 * group))])
    net, _ = convert_and_compare(tmp_path, proto)
    assert layer_types(net) == ["Deconvolution"]


@pytest.mark.parametrize("eps", [1e-3, 2e-5])
def test_batchnorm_that_cannot_fold_is_batchnorm_plus_scale_with_the_models_eps(tmp_path, eps):
    c = 6
    params = [init("g", R.uniform(0.5, 1.5, c).astype(np.float32)), init("be", w(c)), init("m", w(c)),
              init("v", R.uniform(0.01, 0.05, c).astype(np.float32))]  # small variance: eps matters
    nodes = [helper.make_node("Relu", ["x"], ["r"]),
             helper.make_node("BatchNormalization", ["r", "g", "be", "m", "v"], ["y"], epsilon=eps)]
    net, cmp = convert_and_compare(tmp_path, model(nodes, {"x": (1, c, 5, 4)}, ["y"], params))
    assert layer_types(net) == ["ReLU", "BatchNorm", "Scale"]
    assert net.layer[1].batch_norm_param.eps == pytest.approx(eps, rel=1e-6)
    assert net.layer[2].scale_param.bias_term
    weights = caffe_pb2.NetParameter()
    weights.ParseFromString((tmp_path / "caffe" / "model.caffemodel").read_bytes())
    bn = weights.layer[1]
    assert bn.type == "BatchNorm" and len(bn.blobs) == 3
    assert list(bn.blobs[2].shape.dim) == [1] and list(bn.blobs[2].data) == [1.0]  # the scale factor
    np.testing.assert_array_equal(np.array(bn.blobs[0].data, np.float32), numpy_helper.to_array(params[2]))
    assert {r.name for r in cmp.rows} == {"r", "y"}


@pytest.mark.parametrize("op,attrs,caffe", [
    ("Relu", {}, "ReLU"), ("LeakyRelu", {"alpha": 0.1}, "ReLU"), ("Elu", {"alpha": 0.7}, "ELU"),
    ("Sigmoid", {}, "Sigmoid"), ("Tanh", {}, "TanH"), ("Abs", {}, "AbsVal"), ("Exp", {}, "Exp"),
    ("Softplus", {}, "BNLL")])
def test_activation(tmp_path, op, attrs, caffe):
    net, _ = convert_and_compare(tmp_path, model([helper.make_node(op, ["x"], ["y"], **attrs)], {"x": (2, 3, 4, 5)}, ["y"]))
    assert layer_types(net) == [caffe]


@pytest.mark.parametrize("slope_shape", [(3, 1, 1), (1,)], ids=["per-channel", "shared"])
def test_prelu(tmp_path, slope_shape):
    proto = model([helper.make_node("PRelu", ["x", "s"], ["y"])], {"x": (1, 3, 4, 5)}, ["y"],
                  [init("s", R.uniform(0.05, 0.5, slope_shape).astype(np.float32))])
    net, _ = convert_and_compare(tmp_path, proto)
    assert layer_types(net) == ["PReLU"] and net.layer[0].prelu_param.channel_shared == (slope_shape == (1,))


@pytest.mark.parametrize("op,coeff", [("Add", []), ("Sub", [1.0, -1.0]), ("Mul", []), ("Max", []), ("Sum", [])])
def test_eltwise_of_two_tensors(tmp_path, op, coeff):
    nodes = [helper.make_node("Relu", ["x"], ["a"]), helper.make_node("Tanh", ["x"], ["b"]),
             helper.make_node(op, ["a", "b"], ["y"])]
    net, _ = convert_and_compare(tmp_path, model(nodes, {"x": (1, 3, 4, 5)}, ["y"]))
    assert layer_types(net)[-1] == "Eltwise" and list(net.layer[-1].eltwise_param.coeff) == coeff


CONST_CASES = [(op, first, kind) for op, first in [("Add", False), ("Sub", False), ("Sub", True), ("Mul", False),
                                                   ("Mul", True), ("Div", False)]
               for kind in ("scalar", "per-channel", "span")
               if not (op == "Sub" and first and kind != "scalar")]  # refused: test_constant_minus_tensor_is_refused


@pytest.mark.parametrize("op,const_first,kind", CONST_CASES)
def test_tensor_and_constant(tmp_path, op, const_first, kind):
    shape = {"scalar": (), "per-channel": (3, 1, 1), "span": (1, 4, 5)}[kind]
    c = R.uniform(0.5, 2.0, shape).astype(np.float32)
    inputs = ["c", "x"] if const_first else ["x", "c"]
    net, _ = convert_and_compare(tmp_path, model([helper.make_node(op, inputs, ["y"])], {"x": (2, 3, 4, 5)}, ["y"],
                                                 [init("c", c)]))
    assert layer_types(net) == ["Power" if kind == "scalar" else "Scale"]


def test_constant_minus_tensor_is_refused(tmp_path):
    from modelport.errors import UnsupportedOpsError
    with pytest.raises(UnsupportedOpsError, match="minus a tensor"):
        convert_and_compare(tmp_path, model([helper.make_node("Sub", ["c", "x"], ["y"])], {"x": (1, 3, 4, 5)}, ["y"],
                                            [init("c", w(3, 1, 1))]))


@pytest.mark.parametrize("axis", [1, 2, -1])
def test_concat(tmp_path, axis):
    nodes = [helper.make_node("Relu", ["x"], ["a"]), helper.make_node("Tanh", ["x"], ["b"]),
             helper.make_node("Concat", ["a", "b", "x"], ["y"], axis=axis)]
    convert_and_compare(tmp_path, model(nodes, {"x": (1, 3, 4, 5)}, ["y"]))


@pytest.mark.parametrize("axis,softmax_axis", [(1, 1), (2, -1)])
def test_flatten_and_softmax(tmp_path, axis, softmax_axis):
    nodes = [helper.make_node("Flatten", ["x"], ["f"], axis=axis), helper.make_node("Softmax", ["f"], ["y"], axis=softmax_axis)]
    convert_and_compare(tmp_path, model(nodes, {"x": (1, 3, 4, 5)}, ["y"]))


@pytest.mark.parametrize("axis", [1, 2, 3, -1])
def test_softmax_axis(tmp_path, axis):
    convert_and_compare(tmp_path, model([helper.make_node("Softmax", ["x"], ["y"], axis=axis)], {"x": (2, 3, 4, 5)}, ["y"]))


def test_transpose_reshape_chain(tmp_path):
    nodes = [helper.make_node("Transpose", ["x"], ["t"], perm=[0, 2, 3, 1]),
             helper.make_node("Reshape", ["t", "s"], ["y"])]
    net, _ = convert_and_compare(tmp_path, model(nodes, {"x": (1, 6, 4, 5)}, ["y"],
                                                 [init("s", np.array([1, -1, 3], np.int64))]))
    assert layer_types(net) == ["Permute", "Reshape"]


@pytest.mark.parametrize("starts,ends,axes", [([1], [3], [1]), ([0], [2], [2]), ([2], [5], [3]), ([1, 1], [4, -1], [2, 3])],
                         ids=["middle-channels", "head-rows", "tail-cols", "two-axes"])
def test_slice(tmp_path, starts, ends, axes):
    inits = [init("st", np.array(starts, np.int64)), init("en", np.array(ends, np.int64)),
             init("ax", np.array(axes, np.int64))]
    nodes = [helper.make_node("Slice", ["x", "st", "en", "ax"], ["s"]), helper.make_node("Relu", ["s"], ["y"])]
    net, cmp = convert_and_compare(tmp_path, model(nodes, {"x": (1, 4, 5, 5)}, ["y"], inits))
    assert "s" in {r.name for r in cmp.rows}  # the kept part, wherever it sits among the Slice's tops


def test_split_every_part_is_compared(tmp_path):
    nodes = [helper.make_node("Split", ["x", "sp"], ["a", "b", "c"], axis=1)] + [
        helper.make_node("Relu", [n], [f"{n}r"]) for n in "abc"]
    proto = model(nodes, {"x": (1, 6, 3, 3)}, ["ar", "br", "cr"], [init("sp", np.array([1, 2, 3], np.int64))])
    net, cmp = convert_and_compare(tmp_path, proto)
    assert {"a", "b", "c"} <= {r.name for r in cmp.rows}


@pytest.mark.parametrize("trans_b,alpha,beta,bias", [(0, 1.0, 1.0, "vector"), (1, 0.5, 2.0, "row"), (1, 1.0, 1.0, None)])
def test_gemm_is_innerproduct(tmp_path, trans_b, alpha, beta, bias):
    b = w(6, 7) if trans_b else w(7, 6)
    inits = [init("B", b)] + ([init("C", w(6) if bias == "vector" else w(1, 6))] if bias else [])
    node = helper.make_node("Gemm", ["x", "B"] + (["C"] if bias else []), ["y"], transB=trans_b, alpha=alpha, beta=beta)
    net, _ = convert_and_compare(tmp_path, model([node], {"x": (3, 7)}, ["y"], inits))
    assert layer_types(net) == ["InnerProduct"]


def test_flatten_matmul_add_is_innerproduct(tmp_path):
    nodes = [helper.make_node("Flatten", ["x"], ["f"]), helper.make_node("MatMul", ["f", "B"], ["m"]),
             helper.make_node("Add", ["m", "C"], ["y"])]
    net, _ = convert_and_compare(tmp_path, model(nodes, {"x": (2, 3, 2, 2)}, ["y"], [init("B", w(12, 5)), init("C", w(5))]))
    assert layer_types(net) == ["Flatten", "InnerProduct"]


@pytest.mark.parametrize("scale", [2, 3])
@pytest.mark.parametrize("coords", ["asymmetric", "half_pixel"])
def test_nearest_upsampling_is_grouped_deconvolution_with_ones(tmp_path, scale, coords):
    node = helper.make_node("Resize", ["x", "", "sc"], ["y"], mode="nearest", coordinate_transformation_mode=coords,
                            nearest_mode="floor" if coords == "asymmetric" else "round_prefer_floor")
    net, _ = convert_and_compare(tmp_path, model([node], {"x": (1, 3, 4, 5)}, ["y"],
                                                 [init("sc", np.array([1, 1, scale, scale], np.float32))]))
    layer = net.layer[0]
    assert layer.type == "Deconvolution" and layer.convolution_param.group == 3


@pytest.mark.parametrize("op", ["GlobalAveragePool", "GlobalMaxPool"])
def test_global_pooling(tmp_path, op):
    convert_and_compare(tmp_path, model([helper.make_node(op, ["x"], ["y"])], {"x": (2, 3, 7, 5)}, ["y"]))


@pytest.mark.parametrize("op,kernel,stride,pads,ceil,size", [
    ("MaxPool", 3, 2, 0, 0, (11, 8)), ("MaxPool", 3, 2, 1, 0, (10, 7)), ("MaxPool", 2, 2, 0, 1, (9, 7)),
    ("AveragePool", 3, 2, 1, 0, (10, 9)), ("AveragePool", 2, 2, 0, 0, (9, 7)), ("AveragePool", 3, 1, 1, 0, (6, 5)),
    ("MaxPool", 3, 2, 1, 1, (10, 10))],
    ids=["max-floor", "max-floor-pad", "max-ceil", "avg-floor-pad", "avg-floor", "avg-same", "max-ceil-pad"])
def test_pooling_at_odd_sizes(tmp_path, op, kernel, stride, pads, ceil, size):
    attrs = {"kernel_shape": [kernel] * 2, "strides": [stride] * 2, "pads": [pads] * 4, "ceil_mode": ceil}
    if op == "AveragePool":
        attrs["count_include_pad"] = 1
    nodes = [helper.make_node(op, ["x"], ["p"], **attrs), helper.make_node("Relu", ["p"], ["y"])]
    net, cmp = convert_and_compare(tmp_path, model(nodes, {"x": (1, 2, *size)}, ["y"]))
    assert cmp.rows[0].name == "p" and cmp.rows[0].ref_shape == cmp.rows[0].got_shape  # same size and values


def test_ceil_window_that_starts_in_the_padding_is_refused(tmp_path):
    """onnxruntime keeps a last ceil window that lies wholly in the padding; Caffe drops it."""
    from modelport.errors import UnsupportedOpsError
    node = helper.make_node("MaxPool", ["x"], ["y"], kernel_shape=[3, 3], strides=[3, 3], pads=[1, 1, 1, 1], ceil_mode=1)
    with pytest.raises(UnsupportedOpsError, match="ceil pooling to 4x5 where Caffe's ceil pooling gives 4x4"):
        convert_and_compare(tmp_path, model([node], {"x": (1, 2, 10, 11)}, ["y"]))


def test_tf_same_max_pooling(tmp_path):
    node = helper.make_node("MaxPool", ["x"], ["y"], kernel_shape=[3, 3], strides=[2, 2], auto_pad="SAME_UPPER")
    convert_and_compare(tmp_path, model([node], {"x": (1, 2, 10, 9)}, ["y"]))


def test_average_pooling_that_excludes_padding_is_refused(tmp_path):
    from modelport.errors import UnsupportedOpsError
    node = helper.make_node("AveragePool", ["x"], ["y"], kernel_shape=[3, 3], pads=[1, 1, 1, 1], count_include_pad=0)
    with pytest.raises(UnsupportedOpsError, match="count_include_pad=0"):
        convert_and_compare(tmp_path, model([node], {"x": (1, 2, 6, 6)}, ["y"]))


@pytest.mark.parametrize("lo,hi", [(0.0, 6.0), (-1.0, 1.0), (0.5, None), (None, 0.25), (0.0, None)])
def test_clip_from_relu_and_power(tmp_path, lo, hi):
    inits, names = [], ["x", "", ""]
    if lo is not None:
        inits.append(init("lo", np.array(lo, np.float32)))
        names[1] = "lo"
    if hi is not None:
        inits.append(init("hi", np.array(hi, np.float32)))
        names[2] = "hi"
    net, _ = convert_and_compare(tmp_path, model([helper.make_node("Clip", names, ["y"])], {"x": (1, 3, 8, 8)}, ["y"], inits),
                                 input_range=(-10.0, 10.0))
    assert set(layer_types(net)) <= {"ReLU", "Power"} and "Clip" not in layer_types(net)


@pytest.mark.parametrize("op", ["HardSigmoid", "HardSwish"])
def test_hard_activations_from_power_relu_and_eltwise(tmp_path, op):
    net, _ = convert_and_compare(tmp_path, model([helper.make_node(op, ["x"], ["y"])], {"x": (1, 3, 8, 8)}, ["y"]),
                                 input_range=(-8.0, 8.0))
    assert set(layer_types(net)) <= {"Power", "ReLU", "Eltwise"}
    assert layer_types(net)[:2] == ["Power", "ReLU"]  # alpha * x + beta is one Power layer


def test_swish_is_sigmoid_times_x(tmp_path):
    nodes = [helper.make_node("Sigmoid", ["x"], ["s"]), helper.make_node("Mul", ["x", "s"], ["y"])]
    net, _ = convert_and_compare(tmp_path, model(nodes, {"x": (1, 3, 8, 8)}, ["y"]), input_range=(-8.0, 8.0))
    assert layer_types(net) == ["Sigmoid", "Eltwise"]


def test_relu6_option_writes_one_relu6_layer(tmp_path):
    inits = [init("lo", np.array(0.0, np.float32)), init("hi", np.array(6.0, np.float32))]
    proto = model([helper.make_node("Clip", ["x", "lo", "hi"], ["y"])], {"x": (1, 3, 8, 8)}, ["y"], inits)
    net, _ = convert_and_compare(tmp_path, proto, extra={"relu6": True}, input_range=(-10.0, 10.0))
    assert layer_types(net) == ["ReLU6"]


@pytest.mark.parametrize("mode", ["channel", "instance"])
def test_mxnet_l2_normalization_is_one_normalize_layer(tmp_path, mode):
    import mxnet as mx

    import modelport

    data = mx.sym.var("data")
    conv = mx.sym.Convolution(data, num_filter=4, kernel=(3, 3), name="conv0")
    out = mx.sym.Activation(mx.sym.L2Normalization(conv, mode=mode, eps=1e-6, name="l2n"), act_type="tanh", name="act")
    args = {"conv0_weight": mx.nd.array(w(4, 3, 3, 3)), "conv0_bias": mx.nd.array(w(4))}
    mx.model.save_checkpoint(str(tmp_path / "m"), 0, out, args, {})
    symbol, params = tmp_path / "m-symbol.json", tmp_path / "m-0000.params"
    result = modelport.convert(symbol, params, to="caffe", output_dir=tmp_path / "c", inputs={"data": (1, 3, 9, 8)})
    from backends.caffe.caffe_support import read_prototxt
    net = read_prototxt(result.files[0])
    assert layer_types(net) == ["Convolution", "Normalize", "TanH"]
    assert net.layer[1].norm_param.across_spatial == (mode == "instance")
    report = modelport.verify(symbol, result.files[0], params)
    cmp = report.runs[0].comparison
    assert cmp.first_divergence is None and {"l2n", "act"} <= {r.name for r in cmp.rows}
    assert cmp.missing == [] and all(survivor == "l2n" for _, survivor in cmp.folded)


@pytest.mark.parametrize("size", [(7, 9), (5, 4), (12, 15)])
def test_bilinear_align_corners_resize_is_interp(tmp_path, size):
    node = helper.make_node("Resize", ["x", "", "", "sz"], ["y"], mode="linear", coordinate_transformation_mode="align_corners")
    proto = model([node], {"x": (1, 3, 4, 5)}, ["y"], [init("sz", np.array([1, 3, *size], np.int64))])
    net, _ = convert_and_compare(tmp_path, proto)
    assert layer_types(net) == ["Interp"] and (net.layer[0].interp_param.height, net.layer[0].interp_param.width) == size


def test_bilinear_half_pixel_resize_is_refused(tmp_path):
    from modelport.errors import UnsupportedOpsError
    node = helper.make_node("Resize", ["x", "", "sc"], ["y"], mode="linear")
    with pytest.raises(UnsupportedOpsError, match="half_pixel coordinates"):
        convert_and_compare(tmp_path, model([node], {"x": (1, 3, 4, 5)}, ["y"], [init("sc", np.array([1, 1, 2, 2], np.float32))]))


def test_scalar_scale_then_shift_is_one_power_layer(tmp_path):
    nodes = [helper.make_node("Mul", ["x", "a"], ["m"]), helper.make_node("Sub", ["m", "b"], ["y"])]
    proto = model(nodes, {"x": (1, 3, 4, 4)}, ["y"], [init("a", np.array(0.25, np.float32)), init("b", np.array(3.0, np.float32))])
    net, cmp = convert_and_compare(tmp_path, proto)
    assert layer_types(net) == ["Power"]
    p = net.layer[0].power_param
    assert (p.scale, p.shift) == (0.25, -3.0)
    assert dict(cmp.folded) == {"m": "y"}
