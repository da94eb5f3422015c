"""The shared MXNet and ONNX models and a part of the Gluon zoo convert to ncnn and match the
source engine (MXNet; onnxruntime on the ORIGINAL .onnx) on every blob both expose.

ncnn has no batch axis, so every shape is batch 1; a model is converted at each of its
shapes (ncnn models are converted at static shapes: Reshape targets are fixed). Every
output is compared, every reference tensor is compared, folded or constant shape
arithmetic, and loading the model prints nothing."""
import mxnet as mx
import onnx
import pytest

from ncnn_support import convert_and_verify, load_log
from shared_models import MXNET_MODELS, ONNX_MODELS
from models.test_gluon_zoo import export_zoo

# ncnn's shapes per shared MXNet model: a second spatial size where the net has no
# fully-connected layer fixing it (batch > 1 is not an ncnn shape)
NCNN_SHAPES = {
    "mnist": [(1, 1, 28, 28)],
    "fashion_mnist": [(1, 1, 28, 28)],
    "tiny_mlp": [(1, 4)],
    "mobilefacenet": [(1, 3, 112, 112)],
    "retinaface_mnet025": [(1, 3, 320, 320), (1, 3, 239, 321)],
    "mtcnn_det1": [(1, 3, 12, 12), (1, 3, 47, 33)],
    "mtcnn_det2": [(1, 3, 24, 24)],
    "mtcnn_det3": [(1, 3, 48, 48)],
    "mtcnn_det4": [(1, 15, 24, 24)],
}


def _mx_cases():
    for model in MXNET_MODELS:
        for shape in NCNN_SHAPES[model.id.removesuffix("_resaved")]:
            yield pytest.param(model, shape, id=f"{model.id}-{'x'.join(map(str, shape))}")


def _heads(symbol):
    return {n.removesuffix("_output") for n in mx.sym.load(str(symbol)).list_outputs()}


@pytest.mark.parametrize("model,shape", list(_mx_cases()))
def test_shared_mxnet_model_matches_mxnet(shared_models, tmp_path, model, shape):
    symbol, params = shared_models / model.symbol, shared_models / model.params
    result, cmp = convert_and_verify(symbol, params, {"data": shape}, tmp_path)
    assert {r.name for r in cmp.outputs} == _heads(symbol)
    assert not cmp.missing, cmp.missing
    assert load_log(result.files[0]) == ""


ONNX_NCNN = {  # the shape to convert at (pnet has free sizes: two of them)
    "ultraface_rfb320": [{"input": (1, 3, 240, 320)}],
    "ultraface_rfb320_raw": [{"input": (1, 3, 240, 320)}],
    "yunet_n": [{"input": (1, 3, 320, 320)}],
    "mtcnn_pnet": [{"input_1": (1, 12, 12, 3)}, {"input_1": (1, 41, 29, 3)}],
    "mtcnn_rnet": [{"input_2": (1, 24, 24, 3)}],
    "mtcnn_onet": [{"input_3": (1, 48, 48, 3)}],
}


# yunet's objectness logits on noise in -1..1 are near -20, where onnxruntime's sigmoid
# approximation flushes to 0 what is 4e-7 (ncnn's matches float64): feed the pixel range the
# model expects (0..255), where the outputs are not saturated.
INPUT_RANGE = {"yunet_n": (0.0, 255.0)}


def _onnx_cases():
    for model in ONNX_MODELS:
        for shape in ONNX_NCNN[model.id]:
            yield pytest.param(model, shape, id=f"{model.id}-{'x'.join(map(str, next(iter(shape.values()))))}")


@pytest.mark.parametrize("model,shape", list(_onnx_cases()))
def test_shared_onnx_model_matches_onnxruntime(shared_models, tmp_path, model, shape):
    path = shared_models / model.path
    result, cmp = convert_and_verify(path, None, shape, tmp_path, input_range=INPUT_RANGE.get(model.id))
    original = onnx.load(str(path), load_external_data=False).graph
    assert {r.name for r in cmp.outputs} == {o.name for o in original.output}
    assert not cmp.missing, cmp.missing  # every tensor compared or reported folded
    assert load_log(result.files[0]) == ""


ZOO_NCNN = [
    ("resnet18_v1", [(1, 3, 64, 64), (1, 3, 75, 53)]),
    ("mobilenetv2_0.25", [(1, 3, 64, 64), (1, 3, 97, 71)]),
    ("squeezenet1.1", [(1, 3, 224, 224), (1, 3, 227, 227)]),
    ("mobilenet0.25", [(1, 3, 64, 64), (1, 3, 97, 71)]),
]


@pytest.mark.parametrize("name,shapes", ZOO_NCNN, ids=[z[0] for z in ZOO_NCNN])
def test_zoo_architecture_matches_mxnet(tmp_path, name, shapes):
    symbol, params = export_zoo(name, shapes[0], tmp_path)
    for k, shape in enumerate(shapes):
        result, cmp = convert_and_verify(symbol, params, {"data": shape}, tmp_path / f"ncnn{k}")
        assert not cmp.missing, cmp.missing
        # BatchNorm folded into the convolutions, and reported folded
        assert cmp.folded
        types = [line.split()[0] for line in result.files[0].read_text().splitlines()[2:]]
        assert "BatchNorm" not in types and "Convolution" in types
    assert load_log(result.files[0]) == ""


def test_resnet50_v2_conversion_peak_rss_within_2x_params(tmp_path):
    """Converting resnet50_v2 (~102 MB of params) to ncnn peaks within 2x the params file in a
    fresh process (weights are read one at a time and their pages handed back)."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    here = Path(__file__).resolve().parents[1]
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(here), str(here.parent / "src")]),
               MXNET_SUBGRAPH_BACKEND="NONE")
    export = ("import sys; from pathlib import Path; from models.test_gluon_zoo import export_zoo; "
              f"export_zoo('resnet50_v2', (1, 3, 224, 224), Path({str(tmp_path)!r}))")
    subprocess.run([sys.executable, "-c", export], check=True, capture_output=True, env=env)
    params = tmp_path / "resnet50_v2-0000.params"
    # VmHWM (the peak RSS of this process image): ru_maxrss would carry pytest's own peak over exec
    convert = ("import modelport; "
               f"modelport.convert({str(tmp_path / 'resnet50_v2-symbol.json')!r}, {str(params)!r}, to='ncnn', "
               f"output_dir={str(tmp_path / 'out')!r}, inputs={{'data': (1, 3, 224, 224)}}); "
               "print(next(int(l.split()[1]) * 1024 for l in open('/proc/self/status') if l.startswith('VmHWM')))")
    out = subprocess.run([sys.executable, "-c", convert], check=True, capture_output=True, text=True, env=env)
    peak = int(out.stdout.split()[-1])
    assert peak <= 2 * params.stat().st_size, f"peak RSS {peak / 1e6:.0f} MB for {params.stat().st_size / 1e6:.0f} MB"
    assert (tmp_path / "out" / "resnet50_v2.bin").stat().st_size > 0.9 * params.stat().st_size
