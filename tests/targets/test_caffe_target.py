"""The caffe target: every node it cannot take is listed at once before anything is
written; BatchNorm folded by default, BatchNorm + Scale when not optimizing; options."""
import numpy as np
import pytest
from onnx import helper

import modelport
from modelport.errors import ModelportError, UnsupportedOpsError
from backends.caffe.caffe_support import convert_and_compare, init, layer_types, model, read_prototxt

R = np.random.default_rng(5)


def test_every_unsupported_node_is_listed_at_once_and_nothing_is_written(tmp_path):
    nodes = [helper.make_node("Erf", ["x"], ["e"], name="erf0"),
             helper.make_node("Resize", ["e", "", "sc"], ["r"], mode="linear", name="up0"),
             helper.make_node("AveragePool", ["r"], ["p"], kernel_shape=[3, 3], pads=[1, 1, 1, 1], name="pool0"),
             helper.make_node("Erf", ["p"], ["y"], name="erf1")]
    proto = model(nodes, {"x": (1, 2, 4, 4)}, ["y"], [init("sc", np.array([1, 1, 2, 2], np.float32))])
    out = tmp_path / "out"
    with pytest.raises(UnsupportedOpsError) as err:
        convert_and_compare(tmp_path, proto)
    message = str(err.value)
    assert "Erf: no Caffe layer for this operator: 2 node(s): erf0, erf1" in message
    assert "up0" in message and "bilinear Resize with half_pixel" in message
    assert "pool0" in message and "count_include_pad=0" in message
    assert not (tmp_path / "caffe").exists() or not any((tmp_path / "caffe").iterdir())
    assert not out.exists()


def _conv_bn(channels=4):
    params = [init("g", R.uniform(0.5, 1.5, channels).astype(np.float32)), init("be", R.normal(0, 0.3, channels).astype(np.float32)),
              init("m", R.normal(0, 0.3, channels).astype(np.float32)), init("v", R.uniform(0.5, 2, channels).astype(np.float32))]
    nodes = [helper.make_node("Conv", ["x", "w"], ["c"], pads=[1, 1, 1, 1]),
             helper.make_node("BatchNormalization", ["c", "g", "be", "m", "v"], ["bn"], epsilon=2e-5),
             helper.make_node("Relu", ["bn"], ["y"])]
    return model(nodes, {"x": (1, 3, 6, 6)}, ["y"], [init("w", R.normal(0, 0.5, (channels, 3, 3, 3)).astype(np.float32))] + params)


def test_batchnorm_is_folded_into_the_convolution_by_default(tmp_path):
    net, cmp = convert_and_compare(tmp_path, _conv_bn())
    assert layer_types(net) == ["Convolution", "ReLU"] and net.layer[0].top[0] == "bn"
    assert dict(cmp.folded).get("c") == "bn"


def test_without_optimizing_batchnorm_is_batchnorm_plus_scale(tmp_path):
    from modelport.runtimes.onnxruntime_runner import OnnxRuntimeRunner
    from modelport.runtimes.opencv_caffe_runner import OpenCVCaffeRunner
    from modelport.verify.api import verify_runners
    import onnx

    onnx.save(_conv_bn(), tmp_path / "m.onnx")
    result = modelport.convert(tmp_path / "m.onnx", to="caffe", output_dir=tmp_path / "c", optimize=False,
                               inputs={"x": (1, 3, 6, 6)})
    net = read_prototxt(result.files[0])
    assert layer_types(net) == ["Convolution", "BatchNorm", "Scale", "ReLU"]
    report = verify_runners(OnnxRuntimeRunner(tmp_path / "m.onnx"), OpenCVCaffeRunner(result.files[0]),
                            shapes=[{"x": (1, 3, 6, 6)}])
    cmp = report.runs[0].comparison
    assert cmp.first_divergence is None and {"c", "bn", "y"} <= {r.name for r in cmp.rows}


def test_depthwise_option_names_the_layer_type(tmp_path):
    import onnx
    node = helper.make_node("Conv", ["x", "w"], ["y"], group=4, pads=[1, 1, 1, 1])
    onnx.save(model([node], {"x": (1, 4, 5, 5)}, ["y"], [init("w", R.normal(size=(4, 1, 3, 3)).astype(np.float32))]),
              tmp_path / "m.onnx")
    plain = modelport.convert(tmp_path / "m.onnx", to="caffe", output_dir=tmp_path / "a", inputs={"x": (1, 4, 5, 5)})
    dw = modelport.convert(tmp_path / "m.onnx", to="caffe", output_dir=tmp_path / "b", inputs={"x": (1, 4, 5, 5)},
                           extra={"depthwise": True})
    assert layer_types(read_prototxt(plain.files[0])) == ["Convolution"]
    assert layer_types(read_prototxt(dw.files[0])) == ["DepthwiseConv"]


def test_mxnet_source_needs_its_input_shape(shared_models, tmp_path):
    with pytest.raises(ModelportError, match="--input"):
        modelport.convert(shared_models / "mtcnn_mxnet/det1-symbol.json", to="caffe", output_dir=tmp_path)


def test_a_constant_operand_is_refused_not_written_as_a_dangling_bottom(tmp_path):
    nodes = [helper.make_node("Concat", ["x", "c"], ["y"], axis=1)]
    proto = model(nodes, {"x": (1, 2, 3, 3)}, ["y"], [init("c", np.ones((1, 1, 3, 3), np.float32))])
    with pytest.raises(UnsupportedOpsError, match="constant operand 'c'"):
        convert_and_compare(tmp_path, proto)
