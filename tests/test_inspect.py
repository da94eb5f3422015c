"""inspect: op counts, per-layer shapes and pitfalls, checked against the JSON and MXNet."""
import json
from collections import Counter

import mxnet as mx

import modelport
from modelport.cli import main


def test_inspect_mobilefacenet_counts_and_findings(shared_models):
    symbol = shared_models / "mobilefacenet_y1" / "model-symbol.json"
    doc = json.loads(symbol.read_text())
    expected_ops = Counter(n["op"] for n in doc["nodes"] if n["op"] != "null")
    bns = [n for n in doc["nodes"] if n["op"] == "BatchNorm"]
    fixed = [n for n in bns if n.get("attrs", {}).get("fix_gamma", "True") in ("True", "true", "1")]
    rep = modelport.inspect(symbol, inputs={"data": (1, 3, 112, 112)})
    assert rep.ops == expected_ops
    verb = "layer has" if len(fixed) == 1 else "layers have"
    assert any(f.startswith(f"{len(fixed)} BatchNorm {verb} fix_gamma=True") for f in rep.findings), rep.findings
    assert any("_minus_scalar(127.5) -> _mul_scalar(0.0078125)" in f for f in rep.findings), rep.findings
    params = mx.nd.load(str(shared_models / "mobilefacenet_y1" / "model-0000.params"))
    assert rep.param_count == sum(v.size for v in params.values())


def test_inspect_layer_shapes_equal_mxnet(shared_models):
    symbol = shared_models / "retinaface_mnet025" / "mnet.25-symbol.json"
    rep = modelport.inspect(symbol, inputs={"data": (1, 3, 320, 320)})
    internals = mx.sym.load(str(symbol)).get_internals()
    _, out_shapes, _ = internals.infer_shape(data=(1, 3, 320, 320))
    mx_shapes = {n[: -len("_output")]: s for n, s in zip(internals.list_outputs(), out_shapes) if n.endswith("_output")}
    compared = 0
    for layer in rep.layers:
        if layer.name in mx_shapes:
            assert layer.shape == tuple(mx_shapes[layer.name]), layer.name
            compared += 1
    assert compared == len(rep.layers) > 100


def test_inspect_cli_prints_tables(shared_models, capsys):
    assert main(["inspect", str(shared_models / "mtcnn_mxnet" / "det2-symbol.json"), "--input", "data:1,3,24,24"]) == 0
    out = capsys.readouterr().out
    assert "Convolution" in out and "prob1" in out and "label input(s) prob1_label dropped" in out
    assert "legacy JSON dialect" in out
