"""--outputs: a training graph cut at its embedding converts and matches MXNet; without the cut,
the unsupported training-only ops come with the likely cut named."""
import mxnet as mx
import numpy as np
import onnxruntime as ort
import pytest

import modelport
from modelport.cli import main
from modelport.errors import ModelportError, UnsupportedOpsError
from modelport.runtimes.mxnet_runner import MXNetRunner

CLASSES, SCALE, MARGIN = 6, 8.0, 0.3


def arcface(folder):
    """Embedding fc1, then an ArcFace margin: normalised embedding x normalised class centres
    (fc7), pick the label's cosine, cos(arccos + m), one_hot, SoftmaxOutput with the label."""
    data, label = mx.sym.var("data"), mx.sym.var("softmax_label")
    x = mx.sym.Convolution(data, kernel=(3, 3), num_filter=4, name="conv0")
    x = mx.sym.Activation(x, act_type="relu", name="relu0")
    x = mx.sym.Pooling(x, global_pool=True, pool_type="avg", kernel=(1, 1), name="pool0")
    fc1 = mx.sym.FullyConnected(x, num_hidden=5, name="fc1")
    emb = mx.sym.L2Normalization(fc1, mode="instance", name="emb_norm") * SCALE
    centres = mx.sym.L2Normalization(mx.sym.var("fc7_weight"), mode="instance", name="fc7_norm")
    fc7 = mx.sym.FullyConnected(emb, centres, no_bias=True, num_hidden=CLASSES, name="fc7")
    zy = mx.sym.pick(fc7, label, axis=1, name="zy")
    theta = mx.sym.arccos(zy / SCALE, name="theta")
    diff = mx.sym.cos(theta + MARGIN, name="cos_m") * SCALE - zy
    one_hot = mx.sym.one_hot(label, depth=CLASSES, name="one_hot")
    logits = fc7 + mx.sym.broadcast_mul(one_hot, mx.sym.expand_dims(diff, axis=1))
    sym = mx.sym.SoftmaxOutput(logits, label, name="softmax")
    rng = np.random.default_rng(0)
    args = {"conv0_weight": (4, 3, 3, 3), "conv0_bias": (4,), "fc1_weight": (5, 4), "fc1_bias": (5,),
            "fc7_weight": (CLASSES, 5)}
    args = {k: mx.nd.array(rng.normal(0, 0.5, s).astype(np.float32)) for k, s in args.items()}
    mx.model.save_checkpoint(str(folder / "arc"), 1, sym, args, {})
    return folder / "arc-symbol.json", folder / "arc-0001.params"


def test_arcface_cut_at_fc1_matches_mxnet(tmp_path):
    symbol, params = arcface(tmp_path)
    result = modelport.convert(symbol, params, output_dir=tmp_path / "out", outputs=["fc1"])
    onnx_file = result.files[0]
    sess = ort.InferenceSession(str(onnx_file), providers=["CPUExecutionProvider"])
    assert [i.name for i in sess.get_inputs()] == ["data"]  # the label vanished with its head
    assert [o.name for o in sess.get_outputs()] == ["fc1"]
    x = np.random.default_rng(1).uniform(-1, 1, (2, 3, 9, 7)).astype(np.float32)
    reference = MXNetRunner(symbol, params, outputs=["fc1"])
    assert reference.head_names() == ["fc1"]
    want = reference.run({"data": x}, "heads")["fc1"]
    got = sess.run(None, {"data": x})[0]
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)
    report = modelport.verify(symbol, params=params, inputs={"data": (2, 3, 9, 7)}, outputs=["fc1"])
    assert report.ok
    inspected = modelport.inspect(symbol, params, outputs=["fc1"])
    assert inspected.outputs == ["fc1"] and "arccos" not in inspected.ops


def test_arcface_without_cut_names_fc1(tmp_path):
    symbol, params = arcface(tmp_path)
    with pytest.raises(UnsupportedOpsError) as exc:
        modelport.convert(symbol, params, output_dir=tmp_path / "out")
    text = str(exc.value)
    assert "arccos" in text and "fc1: the last node before the label is used" in text
    assert "--outputs fc1" in text


def test_cli_outputs_flag(tmp_path, capsys):
    symbol, params = arcface(tmp_path)
    assert main(["convert", str(symbol), "--outputs", "fc1", "-o", str(tmp_path / "out")]) == 0
    assert main(["inspect", str(symbol), "--outputs", "fc1,emb_norm"]) == 0
    assert "emb_norm" in capsys.readouterr().out
    assert main(["verify", str(symbol), str(tmp_path / "out" / "arc.onnx"), "--outputs", "fc1",
                 "--input", "data:1,3,8,8"]) == 0
    assert main(["convert", str(symbol), "--outputs", "fc_1", "-o", str(tmp_path / "bad")]) == 2
    assert "did you mean fc1" in capsys.readouterr().err


def test_plain_model_has_no_cut_hint(tmp_path):
    data = mx.sym.var("data")
    sym = mx.sym.arccos(mx.sym.FullyConnected(data, num_hidden=2, name="fc"), name="acos")
    args = {"fc_weight": mx.nd.ones((2, 3)), "fc_bias": mx.nd.zeros((2,))}
    mx.model.save_checkpoint(str(tmp_path / "p"), 1, sym, args, {})
    with pytest.raises(UnsupportedOpsError) as exc:
        modelport.convert(tmp_path / "p-symbol.json", output_dir=tmp_path / "out")
    assert "--outputs" not in str(exc.value)


def test_onnx_source_refuses_outputs(tmp_path):
    symbol, params = arcface(tmp_path)
    result = modelport.convert(symbol, params, output_dir=tmp_path / "out", outputs=["fc1"])
    with pytest.raises(ModelportError, match="--outputs is not supported for ONNX"):
        modelport.convert(result.files[0], output_dir=tmp_path / "again", outputs=["fc1"])


def test_no_cut_hint_when_the_backbone_is_unsupported(tmp_path):
    """Cutting cannot help when the unsupported op sits before the proposed cut."""
    data, label = mx.sym.var("data"), mx.sym.var("softmax_label")
    x = mx.sym.arccos(mx.sym.FullyConnected(data, num_hidden=4, name="fc0"), name="acos")
    fc1 = mx.sym.FullyConnected(x, num_hidden=3, name="fc1")
    sym = mx.sym.SoftmaxOutput(fc1, label, name="softmax")
    args = {"fc0_weight": mx.nd.ones((4, 2)), "fc0_bias": mx.nd.zeros((4,)),
            "fc1_weight": mx.nd.ones((3, 4)), "fc1_bias": mx.nd.zeros((3,))}
    mx.model.save_checkpoint(str(tmp_path / "b"), 1, sym, args, {})
    with pytest.raises(UnsupportedOpsError) as exc:
        modelport.convert(tmp_path / "b-symbol.json", output_dir=tmp_path / "out")
    assert "--outputs" not in str(exc.value)


def test_cut_drops_labels_and_keeps_named_outputs(tmp_path):
    from modelport.frontends.mxnet.cut import cut
    from modelport.frontends.mxnet.reader import load_symbol

    symbol, _ = arcface(tmp_path)
    graph = cut(load_symbol(symbol), ["fc1", "emb_norm_output"])
    names = [n.name for n in graph.nodes]
    assert "softmax_label" not in names and "fc7_weight" not in names and "softmax" not in names
    assert [graph.nodes[i].name for i, _ in graph.heads] == ["fc1", "emb_norm"]
