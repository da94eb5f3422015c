"""verify --shapes / --save-tensors / --report through the CLI, and compare-dumps on what verify saved."""
import mxnet as mx
import numpy as np

from modelport.cli import main


def _save_model(folder, name="net"):
    data = mx.sym.var("data")
    x = mx.sym.Convolution(data, kernel=(3, 3), num_filter=4, name="conv1")
    x = mx.sym.Activation(x, act_type="relu", name="relu1")
    x = mx.sym.Pooling(x, kernel=(2, 2), stride=(2, 2), pool_type="max", pooling_convention="full", name="pool1")
    x = mx.sym.Convolution(x, kernel=(1, 1), num_filter=2, name="conv2")
    rng = np.random.default_rng(0)
    args = {"conv1_weight": mx.nd.array(rng.normal(0, 1, (4, 3, 3, 3))), "conv1_bias": mx.nd.array(rng.normal(0, 1, 4)),
            "conv2_weight": mx.nd.array(rng.normal(0, 1, (2, 4, 1, 1))), "conv2_bias": mx.nd.zeros((2,))}
    mx.model.save_checkpoint(str(folder / name), 1, x, args, {})
    return folder / f"{name}-symbol.json", folder / f"{name}-0001.params"


def _run(capsys, *argv):
    code = main([str(a) for a in argv])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_shapes_runs_each_shape_and_summarises(tmp_path, capsys):
    symbol, _ = _save_model(tmp_path)
    code, out, err = _run(capsys, "verify", symbol, "--shapes", "1x3x8x8,1x3x13x9,2x3x10x10")
    assert code == 0, out + err
    for shape in ("1x3x8x8", "1x3x13x9", "2x3x10x10"):
        assert f"MATCH at data={shape}" in out, out
    assert "all shapes" in out and out.count("MATCH") >= 6  # three verdict lines and three summary rows
    code, out, err = _run(capsys, "verify", symbol, "--shapes", "data:1x3x8x8")
    assert code == 0 and "MATCH at data=1x3x8x8" in out and "all shapes" not in out


def test_bad_shapes_spec(tmp_path, capsys):
    symbol, _ = _save_model(tmp_path)
    for spec in ("1x3xAx8", "1x3x0x8,", "x", "1x3x8x8+"):
        code, out, err = _run(capsys, "verify", symbol, "--shapes", spec)
        assert code == 2 and "Traceback" not in err and "is not a shape" in err, (spec, err)
    code, out, err = _run(capsys, "verify", symbol, "--shapes", "1x3x8")  # parses, but the model takes rank 4
    assert code == 2 and "data" in err and "Traceback" not in err
    code, out, err = _run(capsys, "verify", symbol, "--shapes", "1x3x8x8x")
    assert code == 2 and "is not a shape" in err
    code, out, err = _run(capsys, "verify", symbol, "--shapes", "image:1x3x8x8")
    assert code == 2 and "image" in err


def test_save_tensors_holds_the_engines_values_and_compare_dumps_reads_them(tmp_path, capsys):
    symbol, params = _save_model(tmp_path)
    saved = tmp_path / "tensors"
    code, out, err = _run(capsys, "verify", symbol, "--shapes", "1x3x9x9", "--save-tensors", saved)
    assert code == 0, out + err
    folder = saved / "1x3x9x9"
    inputs = np.load(folder / "inputs.npz")
    ref = np.load(folder / "reference.npz")
    got = np.load(folder / "candidate.npz")
    assert inputs["data"].shape == (1, 3, 9, 9)
    # the saved reference is what MXNet computes on the saved inputs
    sym, args, aux = mx.model.load_checkpoint(str(tmp_path / "net"), 1)
    exe = sym.bind(mx.cpu(), {**args, "data": mx.nd.array(inputs["data"])}, aux_states=aux, grad_req="null")
    exe.forward(is_train=False)
    expected = exe.outputs[0].asnumpy()
    assert np.array_equal(ref["conv2"], expected)
    assert ref["pool1"].shape == (1, 4, 4, 4)  # ceil pooling of 7x7
    np.testing.assert_allclose(got["conv2"], expected, rtol=1e-5, atol=1e-5)
    code, out, err = _run(capsys, "compare-dumps", folder / "reference.npz", folder / "candidate.npz")
    assert code == 0, out + err
    assert "4 layers compared" in out and "first layer below" not in out and out.count(" fine ") >= 4
    # a damaged candidate is caught layer by layer
    broken = {k: got[k] for k in got.files}
    broken["conv2"] = -broken["conv2"]
    np.savez(tmp_path / "broken.npz", **broken)
    code, out, err = _run(capsys, "compare-dumps", folder / "reference.npz", tmp_path / "broken.npz")
    assert code == 1 and "first layer below 0.99: conv2" in out


def test_report_is_written(tmp_path, capsys):
    symbol, _ = _save_model(tmp_path)
    report = tmp_path / "out" / "report.html"
    code, out, err = _run(capsys, "verify", symbol, "--shapes", "1x3x8x8,1x3x11x11", "--report", report)
    assert code == 0, out + err
    page = report.read_text()
    assert page.count('<svg class="plot"') == 2 and page.count('<svg class="graph"') == 2
    for name in ("conv1", "relu1", "pool1", "conv2"):
        assert f"<title>{name} (" in page
    assert [p.name for p in report.parent.iterdir()] == ["report.html"]  # no temporary left behind
