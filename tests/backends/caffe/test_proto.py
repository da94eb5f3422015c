"""modelport's own caffe.proto: it reads Caffe files written by others (MTCNN's det1, the
ultraface RFB-320 reference), and what it writes back gives OpenCV bit-identical results."""
import numpy as np
import pytest
from google.protobuf import text_format

from modelport.backends.caffe import caffe_pb2
from modelport.runtimes.opencv_caffe_runner import OpenCVCaffeRunner

OTHERS = {"mtcnn_det1": ("mtcnn_mxnet/det1", {"data": (1, 3, 12, 12)}),
          "ultraface_ref_caffe": ("onnx_ultraface_rfb320/ref_caffe/RFB-320", {"input": (1, 3, 240, 320)})}


def _read(stem):
    net, weights = caffe_pb2.NetParameter(), caffe_pb2.NetParameter()
    text_format.Parse(stem.with_suffix(".prototxt").read_text(), net)
    weights.ParseFromString(stem.with_suffix(".caffemodel").read_bytes())
    return net, weights


@pytest.mark.parametrize("case", OTHERS)
def test_files_by_others_parse_and_round_trip_bit_identically_in_opencv(shared_models, tmp_path, case):
    stem, inputs = OTHERS[case]
    original = shared_models / stem
    net, weights = _read(original)
    assert len(net.layer) > 5 and any(layer.blobs for layer in weights.layer)
    conv = next(l for l in weights.layer if l.type == "Convolution")
    assert len(conv.blobs) == 2 and conv.blobs[0].data  # weights read through our proto
    again = tmp_path / "again"
    again.with_suffix(".prototxt").write_text(text_format.MessageToString(net))
    again.with_suffix(".caffemodel").write_bytes(weights.SerializeToString())
    net2, weights2 = _read(again)
    assert net2 == net and weights2 == weights

    first = OpenCVCaffeRunner(original.with_suffix(".prototxt"), original.with_suffix(".caffemodel"))
    second = OpenCVCaffeRunner(again.with_suffix(".prototxt"))
    assert first.order() == second.order() and first.input_dims() == second.input_dims() == inputs
    feeds = {k: np.random.default_rng(0).uniform(-1, 1, s).astype(np.float32) for k, s in inputs.items()}
    a, b = first.run(feeds), second.run(feeds)
    assert a.keys() == b.keys() and set(first.head_names()) <= set(a)
    for name in a:
        np.testing.assert_array_equal(a[name], b[name], err_msg=name)


def test_pooling_field_13_is_absent():
    """BVLC's round_mode and OpenCV's ceil_mode share field 13 with opposite meanings."""
    fields = caffe_pb2.PoolingParameter.DESCRIPTOR.fields_by_number
    assert 13 not in fields
    with pytest.raises(text_format.ParseError):
        text_format.Parse('layer { pooling_param { ceil_mode: false } }', caffe_pb2.NetParameter())


def test_field_numbers_of_the_format():
    layer = caffe_pb2.LayerParameter.DESCRIPTOR.fields_by_name
    numbers = {name: layer[name].number for name in ("name", "type", "bottom", "top", "blobs", "convolution_param",
                                                      "pooling_param", "batch_norm_param", "scale_param",
                                                      "permute_param", "norm_param")}
    assert numbers == {"name": 1, "type": 2, "bottom": 3, "top": 4, "blobs": 7, "convolution_param": 106,
                       "pooling_param": 121, "batch_norm_param": 139, "scale_param": 142, "permute_param": 202,
                       "norm_param": 206}
    assert caffe_pb2.NetParameter.DESCRIPTOR.fields_by_name["layer"].number == 100
    assert caffe_pb2.BlobProto.DESCRIPTOR.fields_by_name["data"].number == 5
