"""Models through ``--to caffe``, run by OpenCV dnn (in a child process) against the source's
own engine: MXNet for the MXNet checkpoints and the gluon zoo (random weights, non-trivial
BatchNorm statistics), onnxruntime on the ORIGINAL file for the ONNX models. Every output
and every surviving intermediate tensor is compared (cosine >= 0.99999, max abs <= 1e-4 x
max|ref|). A Caffe conversion has static shapes, so each input shape is its own conversion."""
import pytest
from google.protobuf import text_format

import modelport
from modelport.backends.caffe import caffe_pb2
from models.test_gluon_zoo import ZOO, export_zoo
from shared_models import MXNET_MODELS, ONNX_MODELS

CAFFE_ZOO = [z for z in ZOO if z[0] in ("resnet18_v1", "mobilenetv2_0.25", "squeezenet1.1")]


def _check(report, n_runs: int = 1):
    assert len(report.runs) == n_runs
    for run in report.runs:
        assert run.comparison is not None, run.skipped
        cmp = run.comparison
        first = cmp.first_divergence
        assert first is None, f"{run.shapes}: first divergence at {first} ({cmp.diagnosis})"
        assert cmp.outputs and all(r.ok for r in cmp.rows)
        assert cmp.missing == [], cmp.missing[:10]
    return report.runs[0].comparison


def _parses_back(prototxt, caffemodel):
    net, weights = caffe_pb2.NetParameter(), caffe_pb2.NetParameter()
    text_format.Parse(prototxt.read_text(), net)
    weights.ParseFromString(caffemodel.read_bytes())
    assert [l.name for l in net.layer] == [l.name for l in weights.layer]
    for layer in net.layer:
        assert layer.name == layer.top[0]  # layer name == (first) top name
    return net


@pytest.mark.parametrize("model", MXNET_MODELS, ids=[m.id for m in MXNET_MODELS])
def test_shared_mxnet_model_matches_mxnet_in_opencv(shared_models, tmp_path, model):
    symbol, params = shared_models / model.symbol, shared_models / model.params
    for k, shapes in enumerate(model.shapes):
        result = modelport.convert(symbol, params, to="caffe", output_dir=tmp_path / str(k), inputs=shapes)
        net = _parses_back(*result.files)
        assert [tuple(s.dim) for s in net.input_shape] == list(shapes.values())
        cmp = _check(modelport.verify(symbol, result.files[0], params))
        if model.id == "mobilefacenet":  # the 128-d embedding
            assert [r.ref_shape for r in cmp.outputs] == [(shapes["data"][0], 128)]


@pytest.mark.parametrize("name,shape,second", CAFFE_ZOO, ids=[z[0] for z in CAFFE_ZOO])
def test_zoo_architecture_matches_mxnet_in_opencv(tmp_path, name, shape, second):
    symbol, params = export_zoo(name, shape, tmp_path)
    for k, s in enumerate((shape, second)):
        result = modelport.convert(symbol, params, to="caffe", output_dir=tmp_path / str(k), inputs={"data": s})
        _parses_back(*result.files)
        _check(modelport.verify(symbol, result.files[0], params))


# the shared ONNX models, at their size (and PNet, fully convolutional, at two sizes); yunet
# takes raw pixels: at -1..1 its objectness outputs are all ~1e-5, where OpenCV's sigmoid
# (abs error ~1e-7) fails the cosine test on rounding alone
ONNX_RUNS = {"mtcnn_pnet": [{"input_1": (1, 12, 12, 3)}, {"input_1": (1, 47, 33, 3)}]}
RANGES = {"yunet_n": (0.0, 255.0)}


@pytest.mark.parametrize("model", ONNX_MODELS, ids=[m.id for m in ONNX_MODELS])
def test_shared_onnx_model_matches_onnxruntime_in_opencv(shared_models, tmp_path, model):
    path = shared_models / model.path
    for k, inputs in enumerate(ONNX_RUNS.get(model.id, [model.inputs])):
        result = modelport.convert(path, to="caffe", output_dir=tmp_path / str(k), inputs=inputs)
        _parses_back(*result.files)
        report = modelport.verify(path, result.files[0], input_range=RANGES.get(model.id))
        cmp = _check(report)
        import onnx
        assert {r.name for r in cmp.outputs} == {o.name for o in onnx.load(str(path), load_external_data=False).graph.output}
