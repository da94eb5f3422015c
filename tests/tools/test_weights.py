"""modelport weights: listing and diff on real MXNet checkpoints and real conversions (PITFALLS 3, 4, 25)."""
import json
import shutil

import mxnet as mx
import numpy as np
import pytest

import modelport
from modelport.cli import main
from modelport.frontends.mxnet.params import load_params, save_params
from modelport.tools.weights import diff_weights, read_weights, stats

SHAPE = (1, 3, 8, 8)


def _checkpoint(folder, stored_gamma=0.0, name="net"):
    """conv1 -> bn1 (fix_gamma absent: True, eps default 1e-3) -> relu -> conv2 (no bias) -> bn2 (fix_gamma=False)
    -> fc. bn1's stored gamma is ``stored_gamma`` (multi-GPU checkpoints store 0)."""
    data = mx.sym.var("data")
    x = mx.sym.Convolution(data, kernel=(3, 3), num_filter=4, name="conv1")
    x = mx.sym.BatchNorm(x, name="bn1")
    x = mx.sym.Activation(x, act_type="relu", name="relu1")
    x = mx.sym.Convolution(x, kernel=(1, 1), num_filter=2, name="conv2", no_bias=True)
    x = mx.sym.BatchNorm(x, name="bn2", fix_gamma=False, eps=2e-5)
    x = mx.sym.FullyConnected(x, num_hidden=3, name="fc")
    rng = np.random.default_rng(0)
    arg_shapes, _, aux_shapes = x.infer_shape(data=SHAPE)
    args = {n: mx.nd.array(rng.normal(0, 1, s)) for n, s in zip(x.list_arguments(), arg_shapes) if n != "data"}
    args["bn1_gamma"] = mx.nd.full((4,), stored_gamma)
    aux = {n: mx.nd.array(rng.uniform(0.5, 2, s)) for n, s in zip(x.list_auxiliary_states(), aux_shapes)}
    folder.mkdir(parents=True, exist_ok=True)
    mx.model.save_checkpoint(str(folder / name), 1, x, args, aux)
    return folder / f"{name}-symbol.json", folder / f"{name}-0001.params"


def _edited(symbol, folder, **changes):
    """A copy of the checkpoint with bn1's attributes changed: what a converter that ignores them would build."""
    doc = json.loads(symbol.read_text())
    for node in doc["nodes"]:
        if node["name"] == "bn1":
            node.setdefault("attrs", {}).update(changes)
    folder.mkdir()
    (folder / symbol.name).write_text(json.dumps(doc))
    shutil.copy(symbol.with_name(symbol.name.replace("-symbol.json", "-0001.params")), folder)
    return folder / symbol.name


def _run(capsys, *argv):
    code = main([str(a) for a in argv])
    captured = capsys.readouterr()
    return code, captured.out + captured.err


def test_listing_shows_stats_first_values_and_flags(tmp_path, capsys):
    symbol, params = _checkpoint(tmp_path)
    arrays = load_params(params)
    conv = np.array(arrays["arg:conv1_weight"])
    conv[2] = 0  # a whole output channel of zeros
    arrays = {k: np.array(v) for k, v in arrays.items()}
    arrays["arg:conv1_weight"] = conv
    save_params(params, arrays)
    ws = read_weights(symbol)
    by_name = {s.name: s for s in stats(ws)}
    w = by_name["conv1_weight"]
    assert w.shape == (4, 3, 3, 3) and w.dtype == "float32" and w.layer == "conv1"
    assert w.min == pytest.approx(float(conv.min())) and w.max == pytest.approx(float(conv.max()))
    assert w.mean == pytest.approx(float(conv.mean()), rel=1e-6) and w.std == pytest.approx(float(conv.std()), rel=1e-6)
    assert w.first == pytest.approx(conv.ravel()[:5].tolist())
    assert w.flags == ["1 of 4 channels all zero"]
    assert by_name["bn1_gamma"].flags[0] == "all zero" and "fix_gamma" in by_name["bn1_gamma"].flags[1]
    assert by_name["bn2_gamma"].flags == []
    code, text = _run(capsys, "weights", symbol, "--first", "3")
    assert code == 0, text
    assert "conv1_weight" in text and "4x3x3x3" in text and "1 of 4 channels all zero" in text
    assert f"{conv.ravel()[0]:.4g}" in text and "13 weights" in text


@pytest.mark.parametrize("optimize", [True, False], ids=["folded", "unfolded"])
def test_diff_names_the_layer_and_gamma_when_stored_gamma_was_copied(tmp_path, capsys, optimize):
    symbol, params = _checkpoint(tmp_path / "src", stored_gamma=0.0)
    good = modelport.convert(symbol, params, output_dir=tmp_path / "good", inputs={"data": SHAPE}, optimize=optimize)
    code, text = _run(capsys, "weights", symbol, "--diff", good.files[0])
    assert code == 0, text
    assert "gamma:" not in text
    # a converter that copies the stored gamma: the same checkpoint with fix_gamma=False
    bad_symbol = _edited(symbol, tmp_path / "bad", fix_gamma="False")
    bad = modelport.convert(bad_symbol, output_dir=tmp_path / "badonnx", inputs={"data": SHAPE}, optimize=optimize)
    rows = diff_weights(read_weights(symbol), read_weights(bad.files[0]))
    wrong = [r for r in rows if not r.ok]
    assert wrong and {r.layer for r in wrong} == {"bn1"}, [(r.left, r.status, r.notes) for r in wrong]
    assert any("gamma: layer bn1 has fix_gamma=True" in n and "bn1_gamma = 0" in n for r in wrong for n in r.notes)
    if optimize:
        conv = next(r for r in rows if r.left == "conv1_weight")
        assert conv.status == "differs" and "folded: compared after undoing the BatchNorm fold" in conv.notes[0]
        assert any("4 of 4 channels all zero on the converted/right side only" in n for n in conv.notes)
    code, text = _run(capsys, "weights", symbol, "--diff", bad.files[0])
    assert code == 1, text
    assert "bn1: gamma: layer bn1 has fix_gamma=True" in text.replace("\n", " "), text


def test_diff_small_stored_gamma_in_a_folded_conversion(tmp_path):
    symbol, params = _checkpoint(tmp_path / "src", stored_gamma=0.0003)
    bad = modelport.convert(_edited(symbol, tmp_path / "bad", fix_gamma="False"), output_dir=tmp_path / "o",
                            inputs={"data": SHAPE})
    rows = diff_weights(read_weights(symbol), read_weights(bad.files[0]))
    gamma = next(r for r in rows if r.left == "bn1_gamma")
    assert gamma.status == "differs" and "bn1_gamma = 0.0003" in gamma.notes[0]


def test_diff_eps_mismatch_in_a_folded_conversion(tmp_path):
    symbol, params = _checkpoint(tmp_path / "src", stored_gamma=0.0)
    # eps absent means MXNet's 1e-3; a converter using Caffe's 1e-5 (and gamma right)
    bad = modelport.convert(_edited(symbol, tmp_path / "bad", eps="1e-05"), output_dir=tmp_path / "o",
                            inputs={"data": SHAPE})
    rows = diff_weights(read_weights(symbol), read_weights(bad.files[0]))
    conv = next(r for r in rows if r.left == "conv1_weight")
    assert conv.status == "differs"
    assert any(n.startswith("eps: the conversion used eps = 1e-05, layer bn1 has 0.001") for n in conv.notes), conv.notes


def test_diff_two_checkpoints_by_name(tmp_path, capsys):
    symbol, params = _checkpoint(tmp_path)
    arrays = {k: np.array(v) for k, v in load_params(params).items()}
    other = dict(arrays)
    other["arg:conv1_weight"] = arrays["arg:conv1_weight"] * 2.0  # scale mismatch
    other["arg:fc_weight"] = np.ascontiguousarray(arrays["arg:fc_weight"].T)  # stored transposed
    conv2 = arrays["arg:conv2_weight"].copy()
    conv2[1] = 1.0
    other["arg:conv2_weight"] = conv2  # a channel of ones
    del other["arg:fc_bias"]
    save_params(tmp_path / "other.params", other)
    rows = {r.left or r.right: r for r in diff_weights(read_weights(params), read_weights(tmp_path / "other.params"))}
    assert rows["conv1_weight"].status == "differs" and "scale mismatch: right = 2 x left" in rows["conv1_weight"].notes
    assert rows["fc_weight"].status == "transposed"
    assert rows["conv2_weight"].status == "differs"
    assert any("1 of 2 channels all one on the converted/right side only (channel 1)" in n
               for n in rows["conv2_weight"].notes)
    assert rows["fc_bias"].status == "missing"
    assert rows["bn1_beta"].status == "same" and rows["bn1_beta"].max_abs == 0
    code, text = _run(capsys, "weights", params, "--diff", tmp_path / "other.params")
    assert code == 1 and "transposed" in text and "missing" in text


def test_weights_bad_input(tmp_path, capsys):
    code, text = _run(capsys, "weights", tmp_path / "nothing.onnx")
    assert code == 2 and "nothing.onnx: file not found" in text and "Traceback" not in text
    (tmp_path / "x.txt").write_text("hi")
    code, text = _run(capsys, "weights", tmp_path / "x.txt")
    assert code == 2 and "expected an MXNet -symbol.json, a .params or an .onnx" in text


def test_diff_noise_in_a_folded_weight_is_not_called_a_scale(tmp_path):
    import onnx
    from onnx import numpy_helper

    symbol, params = _checkpoint(tmp_path / "src")
    good = modelport.convert(symbol, params, output_dir=tmp_path / "o", inputs={"data": SHAPE})
    model = onnx.load(str(good.files[0]))
    inits = {i.name: i for i in model.graph.initializer}
    node = next(n for n in model.graph.node if n.output[0] == "bn2")
    w = numpy_helper.to_array(inits[node.input[1]]).copy()
    w[0, 0] += 0.5 * np.abs(w).max()
    inits[node.input[1]].CopyFrom(numpy_helper.from_array(w, node.input[1]))
    onnx.save(model, str(tmp_path / "noisy.onnx"))
    rows = diff_weights(read_weights(symbol), read_weights(tmp_path / "noisy.onnx"))
    wrong = [r for r in rows if not r.ok]
    assert [r.left for r in wrong] == ["conv2_weight"]
    assert wrong[0].notes[-1].startswith("not a per-channel scale: the converted weights of bn2 differ")


def test_constants_the_conversion_adds_are_not_differences(tmp_path, capsys):
    data = mx.sym.var("data")
    x = mx.sym.Convolution(data, kernel=(1, 1), num_filter=2, name="conv")
    x = mx.sym.clip(x, 0, 6, name="relu6")
    rng = np.random.default_rng(0)
    mx.model.save_checkpoint(str(tmp_path / "c"), 0, x, {"conv_weight": mx.nd.array(rng.normal(0, 1, (2, 3, 1, 1))),
                                                         "conv_bias": mx.nd.zeros((2,))}, {})
    symbol = tmp_path / "c-symbol.json"
    result = modelport.convert(symbol, output_dir=tmp_path / "o", inputs={"data": (1, 3, 4, 4)})
    rows = diff_weights(read_weights(symbol), read_weights(result.files[0]))
    assert {r.status for r in rows} == {"same", "added"}
    assert {r.layer for r in rows if r.status == "added"} == {"relu6"}
    code, text = _run(capsys, "weights", symbol, "--diff", result.files[0])
    assert code == 0 and "added" in text
