"""verify finds the first divergent tensor of a broken conversion and names the pitfall."""
import mxnet as mx
import numpy as np
import onnx
from onnx import numpy_helper

import modelport


def _model(folder, fix_gamma_absent=True):
    data = mx.sym.var("data")
    x = mx.sym.Convolution(data, kernel=(3, 3), num_filter=8, pad=(1, 1), name="conv1")
    x = mx.sym.BatchNorm(x, eps=2e-5, name="bn1") if fix_gamma_absent else mx.sym.BatchNorm(x, name="bn1")
    x = mx.sym.Activation(x, act_type="relu", name="relu1")
    sym = mx.sym.Convolution(x, kernel=(3, 3), num_filter=4, pad=(1, 1), name="conv2")
    rng = np.random.default_rng(0)
    args = {"conv1_weight": rng.normal(0, 0.3, (8, 3, 3, 3)), "conv1_bias": rng.normal(0, 0.1, 8),
            "bn1_gamma": np.zeros(8), "bn1_beta": rng.normal(0, 0.2, 8),
            "conv2_weight": rng.normal(0, 0.3, (4, 8, 3, 3)), "conv2_bias": np.zeros(4)}
    aux = {"bn1_moving_mean": rng.normal(0, 0.2, 8), "bn1_moving_var": rng.uniform(0.5, 1.5, 8)}
    prefix = str(folder / "net")
    mx.model.save_checkpoint(prefix, 1, sym, {k: mx.nd.array(v) for k, v in args.items()},
                             {k: mx.nd.array(v) for k, v in aux.items()})
    return folder / "net-symbol.json", folder / "net-0001.params"


def test_correct_conversion_verifies(tmp_path):
    symbol, params = _model(tmp_path)
    result = modelport.convert(symbol, output_dir=tmp_path / "out", inputs={"data": (1, 3, 10, 10)})
    report = modelport.verify(symbol, result.files[0], inputs={"data": (1, 3, 10, 10)})
    assert report.ok
    assert [r.shapes["data"] for r in report.runs] == [(1, 3, 10, 10), (1, 3, 7, 7)]
    cmp = report.runs[0].comparison
    # BatchNorm folded into conv1: conv1's own output no longer exists, bn1 (what MXNet reports) survives
    assert [row.name for row in cmp.rows] == ["bn1", "relu1", "conv2"]
    assert cmp.folded == [("conv1", "bn1")] and cmp.missing == []
    kept = modelport.convert(symbol, output_dir=tmp_path / "kept", inputs={"data": (1, 3, 10, 10)}, optimize=False)
    report = modelport.verify(symbol, kept.files[0], inputs={"data": (1, 3, 10, 10)})
    assert report.ok and [row.name for row in report.runs[0].comparison.rows] == ["conv1", "bn1", "relu1", "conv2"]


def test_copied_zero_gamma_is_found_at_the_batchnorm(tmp_path):
    symbol, params = _model(tmp_path)
    result = modelport.convert(symbol, output_dir=tmp_path / "out", inputs={"data": (1, 3, 10, 10)}, optimize=False)
    broken = onnx.load(str(result.files[0]))
    for init in broken.graph.initializer:
        if init.name.startswith("bn1_gamma"):  # what a naive converter does: copy the stored zeros
            init.CopyFrom(numpy_helper.from_array(np.zeros(8, np.float32), init.name))
    path = tmp_path / "broken.onnx"
    onnx.save(broken, str(path))
    from modelport.cli import main
    assert main(["verify", str(symbol), str(path), "--input", "data:1,3,10,10"]) == 1
    report = modelport.verify(symbol, path, inputs={"data": (1, 3, 10, 10)})
    assert not report.ok
    cmp = report.runs[0].comparison
    assert cmp.first_divergence.name == "bn1"
    assert [r.ok for r in cmp.rows[:1]] == [True]
    assert cmp.cause == "bn_fix_gamma", cmp.diagnosis
    assert "PITFALL 3" in cmp.diagnosis and "gamma = 1" in cmp.diagnosis and "reproduces the reference" in cmp.diagnosis


def test_wrong_eps_is_named(tmp_path):
    symbol, params = _model(tmp_path)
    result = modelport.convert(symbol, output_dir=tmp_path / "out", inputs={"data": (1, 3, 10, 10)}, optimize=False)
    broken = onnx.load(str(result.files[0]))
    for node in broken.graph.node:
        for attr in node.attribute:
            if attr.name == "epsilon":
                attr.f = 0.3  # far from the model's 2e-5
    path = tmp_path / "eps.onnx"
    onnx.save(broken, str(path))
    report = modelport.verify(symbol, path, inputs={"data": (1, 3, 10, 10)})
    cmp = report.runs[0].comparison
    assert cmp.first_divergence.name == "bn1"
    assert cmp.cause == "bn_eps", cmp.diagnosis
    assert "PITFALL 4" in cmp.diagnosis and "eps 2e-05 instead of 0.3" in cmp.diagnosis


def test_verify_cli_exit_codes(tmp_path, capsys):
    from modelport.cli import main
    symbol, params = _model(tmp_path)
    assert main(["verify", str(symbol), "--input", "data:1,3,12,12"]) == 0
    out = capsys.readouterr().out
    assert "MATCH" in out and "conv2" in out and "cosine" in out


def test_static_conversion_verifies_at_its_own_size_only(tmp_path, capsys):
    from modelport.cli import main
    symbol, params = _model(tmp_path)
    out = tmp_path / "static"
    assert main(["convert", str(symbol), "--static", "--input", "data:1,3,10,10", "-o", str(out)]) == 0
    report = modelport.verify(symbol, out / "net.onnx")
    assert report.ok and [r.shapes["data"] for r in report.runs] == [(1, 3, 10, 10)]
    skipped = modelport.verify(symbol, out / "net.onnx", shapes=[{"data": (1, 3, 10, 10)}, {"data": (1, 3, 9, 9)}])
    assert skipped.ok and "fixes other input sizes" in skipped.runs[1].skipped


def test_nan_from_a_negative_variance_batchnorm_is_named_upstream_not_at_the_relu(tmp_path):
    """A BatchNorm whose moving variance + eps < 0 in some channels (a BatchNorm never calibrated,
    as on a 1x1 map) gives NaN there in MXNet and ONNX alike; MXNet's float32 ReLU turns NaN into 0,
    ONNX Relu keeps NaN. The first divergence is the ReLU, and the diagnosis says the values, not
    the conversion, are at fault, and where the NaN start - folded into the conv or not."""
    data = mx.sym.var("data")
    x = mx.sym.Convolution(data, kernel=(3, 3), num_filter=8, pad=(1, 1), stride=(2, 2), name="conv1")
    x = mx.sym.BatchNorm(x, name="bn1")
    x = mx.sym.Activation(x, act_type="relu", name="relu1")
    sym = mx.sym.Convolution(x, kernel=(1, 1), num_filter=4, name="conv2")
    rng = np.random.default_rng(1)
    var = rng.uniform(0.5, 1.5, 8)
    var[[1, 5, 6]] = -0.05
    args = {"conv1_weight": rng.normal(0, 0.3, (8, 3, 3, 3)), "conv1_bias": rng.normal(0, 0.1, 8),
            "bn1_gamma": rng.uniform(0.5, 1.5, 8), "bn1_beta": rng.normal(0, 0.2, 8),
            "conv2_weight": rng.normal(0, 0.3, (4, 8, 1, 1)), "conv2_bias": np.zeros(4)}
    aux = {"bn1_moving_mean": rng.normal(0, 0.2, 8), "bn1_moving_var": var}
    prefix = str(tmp_path / "nan")
    mx.model.save_checkpoint(prefix, 1, sym, {k: mx.nd.array(v) for k, v in args.items()},
                             {k: mx.nd.array(v) for k, v in aux.items()})
    symbol = tmp_path / "nan-symbol.json"
    for optimize in (True, False):
        out = modelport.convert(symbol, output_dir=tmp_path / f"o{optimize}", inputs={"data": (1, 3, 2, 2)},
                                optimize=optimize)
        report = modelport.verify(symbol, out.files[0], shapes=[{"data": (1, 3, 2, 2)}])
        cmp = report.runs[0].comparison
        assert [r.ok for r in cmp.rows if r.name == "bn1"] == [True]  # NaN in the same channels on both sides
        assert cmp.first_divergence.name == "relu1" and "3 cells" in cmp.first_divergence.note
        assert cmp.cause == "nonfinite_input", cmp.diagnosis
        assert "first tensor with NaN/inf is 'bn1'" in cmp.diagnosis
