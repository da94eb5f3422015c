"""Bad input: one clear message naming the file/node/op, exit 2, no traceback, nothing written."""
import json
import subprocess
import sys

import mxnet as mx
import numpy as np
import pytest

from modelport.cli import main


def _save_model(folder, name="net"):
    data = mx.sym.var("data")
    x = mx.sym.Convolution(data, kernel=(3, 3), num_filter=4, name="conv1")
    x = mx.sym.Convolution(x, kernel=(1, 1), num_filter=2, name="conv2")
    args = {"conv1_weight": mx.nd.ones((4, 3, 3, 3)), "conv1_bias": mx.nd.zeros((4,)),
            "conv2_weight": mx.nd.ones((2, 4, 1, 1)), "conv2_bias": mx.nd.zeros((2,))}
    prefix = str(folder / name)
    mx.model.save_checkpoint(prefix, 3, x, args, {})
    return folder / f"{name}-symbol.json", folder / f"{name}-0003.params"


def _run(capsys, *argv):
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out + captured.err


def _assert_clean_failure(code, text, out_dir, *needles):
    assert code == 2, text
    assert "Traceback" not in text
    for needle in needles:
        assert needle in text, text
    assert not out_dir.exists(), f"left behind: {list(out_dir.rglob('*'))}"


def test_good_model_converts(tmp_path, capsys):
    symbol, params = _save_model(tmp_path)
    code, text = _run(capsys, "convert", str(symbol), "--to", "onnx", "-o", str(tmp_path / "out"),
                      "--input", "data:1,3,8,8")
    assert code == 0, text
    assert (tmp_path / "out" / "net.onnx").is_file()
    assert [p.name for p in (tmp_path / "out").iterdir()] == ["net.onnx"]


def test_truncated_params(tmp_path, capsys):
    symbol, params = _save_model(tmp_path)
    params.write_bytes(params.read_bytes()[:-37])
    code, text = _run(capsys, "convert", str(symbol), "-o", str(tmp_path / "out"))
    _assert_clean_failure(code, text, tmp_path / "out", "net-0003.params", "truncated")


def test_wrong_magic(tmp_path, capsys):
    symbol, params = _save_model(tmp_path)
    raw = bytearray(params.read_bytes())
    raw[:8] = b"PK\x03\x04\x00\x00\x00\x00"
    params.write_bytes(bytes(raw))
    code, text = _run(capsys, "convert", str(symbol), "-o", str(tmp_path / "out"))
    _assert_clean_failure(code, text, tmp_path / "out", "net-0003.params", "not an MXNet .params file")


def test_malformed_json(tmp_path, capsys):
    symbol, params = _save_model(tmp_path)
    symbol.write_text(symbol.read_text()[:-40])
    code, text = _run(capsys, "convert", str(symbol), "-o", str(tmp_path / "out"))
    _assert_clean_failure(code, text, tmp_path / "out", "net-symbol.json", "malformed JSON")


def test_unknown_ops_are_all_listed_before_writing(tmp_path, capsys):
    symbol, params = _save_model(tmp_path)
    doc = json.loads(symbol.read_text())
    for node in doc["nodes"]:
        if node["name"] == "conv1":
            node["op"] = "_contrib_FancyOp"
        if node["name"] == "conv2":
            node["op"] = "MysteryLayer"
    symbol.write_text(json.dumps(doc))
    code, text = _run(capsys, "convert", str(symbol), "-o", str(tmp_path / "out"))
    _assert_clean_failure(code, text, tmp_path / "out", "2 unsupported MXNet operators",
                          "_contrib_FancyOp (1 node): conv1", "MysteryLayer (1 node): conv2")


def test_weight_shape_contradicting_graph(tmp_path, capsys):
    symbol, params = _save_model(tmp_path)
    loaded = mx.nd.load(str(params))
    loaded["arg:conv2_weight"] = mx.nd.ones((2, 4, 3, 3))
    loaded["arg:conv1_bias"] = mx.nd.ones((5,))
    mx.nd.save(str(params), loaded)
    code, text = _run(capsys, "convert", str(symbol), "-o", str(tmp_path / "out"), "--input", "data:1,3,8,8")
    _assert_clean_failure(code, text, tmp_path / "out", "2 problems",
                          "weight 'conv2_weight' has shape (2, 4, 3, 3), the graph implies (2, ?, 1, 1)",
                          "weight 'conv1_bias' has shape (5,), the graph implies (4,)")


def test_missing_params_file(tmp_path, capsys):
    symbol, params = _save_model(tmp_path)
    params.unlink()
    code, text = _run(capsys, "convert", str(symbol), "-o", str(tmp_path / "out"))
    _assert_clean_failure(code, text, tmp_path / "out", "params file not found", "net-NNNN.params")
    code, text = _run(capsys, "convert", str(symbol), str(tmp_path / "other-0001.params"), "-o", str(tmp_path / "out"))
    _assert_clean_failure(code, text, tmp_path / "out", "other-0001.params: params file not found")


def test_missing_weight_in_params(tmp_path, capsys):
    symbol, params = _save_model(tmp_path)
    loaded = mx.nd.load(str(params))
    del loaded["arg:conv2_weight"]
    mx.nd.save(str(params), loaded)
    code, text = _run(capsys, "convert", str(symbol), "-o", str(tmp_path / "out"))
    _assert_clean_failure(code, text, tmp_path / "out", "weight 'conv2_weight' is missing from the params file")


def test_bad_input_spec(tmp_path, capsys):
    symbol, _ = _save_model(tmp_path)
    code, text = _run(capsys, "convert", str(symbol), "-o", str(tmp_path / "out"), "--input", "data:1,a,8")
    _assert_clean_failure(code, text, tmp_path / "out", "--input 'data:1,a,8'")


def test_real_entry_point_prints_no_traceback(tmp_path):
    symbol, params = _save_model(tmp_path)
    params.write_bytes(b"\x00" * 10)
    proc = subprocess.run([sys.executable, "-m", "modelport.cli", "convert", str(symbol), "-o", str(tmp_path / "o")],
                          capture_output=True, text=True)
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr and "net-0003.params" in proc.stderr
    assert len(proc.stderr.strip().splitlines()) <= 2
    assert not (tmp_path / "o").exists()


def test_existing_output_folder_is_kept_and_untouched_on_failure(tmp_path, capsys):
    symbol, params = _save_model(tmp_path)
    out = tmp_path / "out"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    params.write_bytes(params.read_bytes()[:30])
    code, _ = _run(capsys, "convert", str(symbol), "-o", str(out))
    assert code == 2
    assert sorted(p.name for p in out.iterdir()) == ["keep.txt"]
    assert np.array_equal(np.frombuffer((out / "keep.txt").read_bytes(), np.uint8),
                          np.frombuffer(b"mine", np.uint8))


def test_files_that_do_not_follow_prefix_epoch_naming(tmp_path, capsys):
    symbol, params = _save_model(tmp_path)
    graph, weights = tmp_path / "graph.json", tmp_path / "weights.bin"
    symbol.rename(graph)
    params.rename(weights)
    code, text = _run(capsys, "convert", str(graph), "-o", str(tmp_path / "out"))
    _assert_clean_failure(code, text, tmp_path / "out", "give the .params file too")
    code, text = _run(capsys, "convert", str(graph), str(weights), "-o", str(tmp_path / "out"), "--input", "data:1,3,9,9")
    assert code == 0, text
    code, text = _run(capsys, "verify", str(graph), str(tmp_path / "out" / "graph.onnx"), str(weights),
                      "--input", "data:1,3,9,9")
    assert code == 0 and "MATCH" in text, text


@pytest.mark.parametrize("layout", ["file", "file/sub", "folder-named-like-output"])
def test_unusable_output_path(tmp_path, capsys, layout):
    symbol, _ = _save_model(tmp_path)
    (tmp_path / "file").write_text("x")
    out = tmp_path / layout
    if layout.startswith("folder"):
        (out / "net.onnx").mkdir(parents=True)
    code, text = _run(capsys, "convert", str(symbol), "-o", str(out), "--input", "data:1,3,8,8")
    assert code == 2 and "Traceback" not in text, text
    assert str(tmp_path) in text
    assert (tmp_path / "file").read_text() == "x"
    if layout.startswith("folder"):
        assert [p.name for p in out.iterdir()] == ["net.onnx"] and (out / "net.onnx").is_dir()


def test_created_parent_folders_are_removed_on_failure(tmp_path, monkeypatch):
    import modelport
    from modelport.backends.onnx import writer
    from modelport.errors import ModelportError

    symbol, _ = _save_model(tmp_path)

    def fail_midway(model, path):
        path.write_bytes(b"half a model")
        raise ModelportError("disk full")

    monkeypatch.setattr(writer, "write_onnx", fail_midway)
    with pytest.raises(ModelportError, match="disk full"):
        modelport.convert(symbol, output_dir=tmp_path / "a" / "b" / "c")
    assert not (tmp_path / "a").exists()
