"""The OpenCV dnn runner: every top by name (all tops of multi-top layers, in-place layers by
layer name), and crashes in OpenCV isolated in a child process."""
import numpy as np
import pytest

from modelport.errors import VerificationError
from modelport.runtimes.opencv_caffe_runner import OpenCVCaffeRunner, opencv_caffe_runner

SLICE_NET = """
name: "t"
input: "data"
input_shape { dim: 1 dim: 6 dim: 5 dim: 5 }
layer { name: "a" type: "Slice" bottom: "data" top: "a" top: "b" top: "c" slice_param { axis: 1 slice_point: 1 slice_point: 3 } }
layer { name: "r" type: "ReLU" bottom: "b" top: "r" }
layer { name: "t1" type: "TanH" bottom: "c" top: "t1" }
layer { name: "t2" type: "TanH" bottom: "t1" top: "t2" }
layer { name: "t3" type: "Power" bottom: "t2" top: "t2" power_param { scale: 3 } }
"""


def _write(tmp_path, text):
    from google.protobuf import text_format

    from modelport.backends.caffe import caffe_pb2

    (tmp_path / "n.prototxt").write_text(text)
    net = caffe_pb2.NetParameter()
    text_format.Parse(text, net)
    (tmp_path / "n.caffemodel").write_bytes(net.SerializeToString())
    return tmp_path / "n.prototxt"


def test_every_top_of_a_multi_top_layer_and_in_place_layers_by_name(tmp_path):
    runner = OpenCVCaffeRunner(_write(tmp_path, SLICE_NET))
    x = np.random.default_rng(0).normal(size=(1, 6, 5, 5)).astype(np.float32)
    out = runner.run({"data": x})
    np.testing.assert_array_equal(out["a"], x[:, :1])
    np.testing.assert_array_equal(out["b"], x[:, 1:3])  # OpenCV reuses this memory in a full pass
    np.testing.assert_array_equal(out["c"], x[:, 3:])
    np.testing.assert_allclose(out["t2"], 3 * np.tanh(np.tanh(x[:, 3:])), rtol=1e-6)  # the top: its last value
    np.testing.assert_allclose(out["t3"], out["t2"])  # the in-place layer, by its name
    assert runner.order() == ["a", "b", "c", "r", "t1", "t2", "t3"]
    assert runner.op_of()["t3"] == "Power" and runner.input_dims() == {"data": (1, 6, 5, 5)}
    assert runner.accepts({"data": (1, 6, 5, 5)}) and not runner.accepts({"data": (1, 6, 7, 5)})


def test_a_deconvolution_without_weights_is_one_clear_error(tmp_path):
    net = SLICE_NET.split("layer")[0] + (
        'layer { name: "d" type: "Deconvolution" bottom: "data" top: "d" '
        'convolution_param { num_output: 4 kernel_size: 2 stride: 2 } }\n')
    runner = None
    with pytest.raises(VerificationError, match="opencv-caffe"):
        runner = opencv_caffe_runner(_write(tmp_path, net))
        runner.run({"data": np.ones((1, 6, 5, 5), np.float32)})
    if runner is not None:
        runner.close()


def test_missing_files_are_reported(tmp_path):
    with pytest.raises(VerificationError, match="file not found"):
        OpenCVCaffeRunner(tmp_path / "absent.prototxt")
