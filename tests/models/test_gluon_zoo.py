"""Gluon model-zoo architectures (random weights, non-trivial BatchNorm statistics) match MXNet."""
import json

import mxnet as mx
import numpy as np
import onnx
import pytest

import modelport

# (architecture, convert shape, second shape: another size where the net allows it, else another batch)
ZOO = [
    ("resnet18_v1", (1, 3, 64, 64), (1, 3, 75, 53)),
    ("resnet18_v2", (1, 3, 64, 64), (1, 3, 75, 53)),
    ("resnet50_v2", (1, 3, 96, 96), (1, 3, 67, 81)),
    ("mobilenet0.25", (1, 3, 64, 64), (1, 3, 97, 71)),
    ("mobilenetv2_0.25", (1, 3, 64, 64), (1, 3, 97, 71)),
    ("squeezenet1.0", (1, 3, 224, 224), (2, 3, 224, 224)),
    ("squeezenet1.1", (1, 3, 224, 224), (2, 3, 224, 224)),
    ("densenet121", (1, 3, 224, 224), (2, 3, 224, 224)),
    ("vgg11", (1, 3, 224, 224), (2, 3, 224, 224)),
    ("vgg11_bn", (1, 3, 224, 224), (2, 3, 224, 224)),
    ("alexnet", (1, 3, 224, 224), (2, 3, 224, 224)),
    ("inceptionv3", (1, 3, 299, 299), (2, 3, 299, 299)),
]


BN_AFTER_CONV = {"resnet18_v1", "mobilenet0.25", "mobilenetv2_0.25", "vgg11_bn", "inceptionv3"}


def export_zoo(name: str, shape: tuple, folder, seed: int = 0):
    """Export a gluon zoo net as -symbol.json/.params with random weights and BN statistics."""
    with mx.name.NameManager():  # a fresh name counter: layer names do not depend on earlier exports
        net = mx.gluon.model_zoo.vision.get_model(name, pretrained=False)
    net.initialize(mx.init.Xavier(magnitude=2.0))
    net.hybridize()
    net(mx.nd.zeros(shape))
    rng = np.random.default_rng(seed)
    for pname, param in net.collect_params().items():
        value = param.data().asnumpy()
        if pname.endswith("running_var"):
            param.set_data(rng.uniform(0.5, 2.0, value.shape).astype(np.float32))
        elif pname.endswith(("running_mean", "beta")):
            param.set_data(rng.normal(0, 0.2, value.shape).astype(np.float32))
        elif pname.endswith("gamma"):
            param.set_data(rng.uniform(0.5, 1.5, value.shape).astype(np.float32))
    net(mx.nd.zeros(shape))
    prefix = str(folder / name)
    net.export(prefix, epoch=0)
    return folder / f"{name}-symbol.json", folder / f"{name}-0000.params"


@pytest.mark.parametrize("name,shape,second", ZOO, ids=[z[0] for z in ZOO])
def test_zoo_architecture_matches_mxnet(tmp_path, name, shape, second):
    symbol, params = export_zoo(name, shape, tmp_path)
    result = modelport.convert(symbol, params, output_dir=tmp_path / "onnx", inputs={"data": shape})
    onnx.checker.check_model(str(result.files[0]), full_check=True)
    report = modelport.verify(symbol, result.files[0], params, shapes=[{"data": shape}, {"data": second}],
                              stop_at_first=True)
    for run in report.runs:
        assert run.comparison is not None, run.skipped
        first = run.comparison.first_divergence
        assert first is None, f"{run.shapes}: first divergence at {first.name} ({run.comparison.diagnosis})"
        assert run.comparison.outputs, "the output was not compared"
        assert run.comparison.missing == [], "every MXNet tensor is compared or reported folded"
    ops = {n.op_type for n in onnx.load(str(result.files[0])).graph.node}
    batchnorms = sum(n["op"] == "BatchNorm" for n in json.loads(symbol.read_text())["nodes"])
    if name in BN_AFTER_CONV:  # every BatchNorm follows a convolution: all folded, each reported as folded
        assert "BatchNormalization" not in ops
        folded = dict(report.runs[0].comparison.folded)
        assert len(folded) == batchnorms and all("_batchnorm" in bn and "_conv" in conv for conv, bn in folded.items())
