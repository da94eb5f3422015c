"""NNIE .hex / Caffe .float dumps: exact round trips, dot-file matching, clear errors, the CLI."""
import numpy as np
import pytest

from modelport.cli import main
from modelport.errors import ModelFileError
from modelport.tools import dumps


def test_hex_known_values(tmp_path):
    # value = signed int32 / 4096, two's complement
    path = tmp_path / "a.hex"
    path.write_text("00001000\nfffff000\n00000001\nffffffff\n7fffffff\n80000000\n0x00000800\n\n")
    got = dumps.read_hex(path)
    assert got.tolist() == [1.0, -1.0, 1 / 4096, -1 / 4096, (2**31 - 1) / 4096, -(2**31) / 4096, 0.5]


def test_hex_round_trip_exact_with_negatives_and_saturation(tmp_path):
    rng = np.random.default_rng(0)
    ints = rng.integers(-(2**31), 2**31, size=1000, dtype=np.int64)
    ints[:4] = [-(2**31), 2**31 - 1, 0, -1]
    values = ints / 4096.0  # exactly representable fixed-point values
    path = tmp_path / "x.hex"
    dumps.write_hex(path, values)
    lines = path.read_text().splitlines()
    assert lines[:4] == ["80000000", "7fffffff", "00000000", "ffffffff"]
    assert np.array_equal(dumps.read_hex(path), values)
    # beyond the int32 range: saturated at the limits, rounding to the nearest 1/4096
    dumps.write_hex(path, np.array([1e9, -1e9, 0.3, -0.3, -2.5 / 4096]))
    assert path.read_text().splitlines() == ["7fffffff", "80000000", f"{round(0.3 * 4096):08x}",
                                             f"{(-round(0.3 * 4096)) & 0xffffffff:08x}", "fffffffe"]
    assert dumps.read_hex(path).tolist() == [(2**31 - 1) / 4096, -(2**31) / 4096, 1229 / 4096, -1229 / 4096,
                                             -2 / 4096]


def test_float_round_trip_exact(tmp_path):
    rng = np.random.default_rng(1)
    values = (rng.standard_normal(2000) * 10.0 ** rng.integers(-30, 30, 2000)).astype(np.float32)
    values[:5] = [0.0, -0.0, np.finfo(np.float32).max, -np.finfo(np.float32).tiny, -1.5]
    path = tmp_path / "x.float"
    dumps.write_float(path, values)
    got = dumps.read_float(path)
    assert np.array_equal(got.astype(np.float32), values)
    assert np.array_equal(got.astype(np.float32).view(np.uint32)[2:], values.view(np.uint32)[2:])
    path.write_text("1.5e-03\n-2.25E+02\n  7 \n")  # what Caffe's dumps look like, and plain numbers
    assert dumps.read_float(path).tolist() == [0.0015, -225.0, 7.0]


@pytest.mark.parametrize("suffix,content,line,needle", [
    (".hex", "00001000\n0000100g\n", 2, "not a 32-bit hex value"),
    (".hex", "00001000\n\n123456789\n", 3, "not a 32-bit hex value"),
    (".float", "1.0\n2.0\n\n3.0 4.0\n", 4, "not a number"),
])
def test_malformed_line_names_file_and_line(tmp_path, suffix, content, line, needle):
    path = tmp_path / f"conv1{suffix}"
    path.write_text(content)
    with pytest.raises(ModelFileError) as info:
        dumps.read_dump(path)
    assert f"{path}:{line}:" in str(info.value) and needle in str(info.value)


DOT = """digraph cnn_net_tree {
  rankdir=TB;
  node [shape=record];
  "report_0" [label="name: conv1\\ntype: Convolution\\ntop: conv1"];
  "report_1" [label="name: relu1\\ntype: ReLU\\ntop: conv1"];
  report_2 [label="pool1"];
  report_3 [label="fc|prob"];
  "report_0" -> "report_1";
  report_1 -> report_2;
  report_2 -> report_3;
}
"""


def _layers():
    rng = np.random.default_rng(2)
    conv = rng.normal(0, 3, 64)
    relu = np.maximum(conv, 0)
    pool = rng.normal(0, 1, 16)
    prob = rng.uniform(0, 1, 10)
    return conv, relu, pool, prob


def test_dot_matching_and_cosines(tmp_path):
    conv, relu, pool, prob = _layers()
    nnie, caffe = tmp_path / "nnie", tmp_path / "caffe"
    nnie.mkdir()
    caffe.mkdir()
    # mapper dumps named by report node; relu1 is in place on conv1 (the group conv1+relu1)
    dumps.write_hex(nnie / "report_1.hex", relu)
    dumps.write_hex(nnie / "report_2.hex", pool)
    dumps.write_hex(nnie / "report_3.hex", -prob)  # a broken layer: cosine -1
    dumps.write_hex(nnie / "report_9.hex", pool)  # not in the dot file
    dumps.write_float(caffe / "conv1.float", conv.astype(np.float32))
    dumps.write_float(caffe / "relu1.float", relu.astype(np.float32))
    dumps.write_float(caffe / "pool1.float", pool.astype(np.float32))
    dumps.write_float(caffe / "prob.float", prob.astype(np.float32))
    (tmp_path / "cnn_net_tree.dot").write_text(DOT)
    graph = dumps.read_dot(tmp_path / "cnn_net_tree.dot")
    assert [(n.id, n.layers, n.tops) for n in graph.nodes] == [
        ("report_0", ["conv1"], ["conv1"]), ("report_1", ["relu1"], ["conv1"]), ("report_2", ["pool1"], []),
        ("report_3", ["fc", "prob"], [])]
    assert [graph.position(n) for n in ("report_0", "relu1", "pool1", "prob", "conv1", "nowhere")] == [0, 1, 2, 3, 0, 4]
    assert graph.candidates("conv1")[:2] == ["relu1", "conv1"]  # the in-place blob's final value is relu1's
    result = dumps.compare_dumps(nnie, caffe, tmp_path / "cnn_net_tree.dot")
    rows = {r.left: r for r in result.rows}
    assert [r.left for r in result.rows] == ["report_1", "report_2", "report_3", "report_9"]  # dot order
    assert rows["report_1"].right == "relu1"  # the dot node's layer
    assert rows["report_1"].cosine == pytest.approx(1.0, abs=1e-7) and rows["report_1"].level == "fine"
    assert rows["report_2"].right == "pool1" and rows["report_2"].level == "fine"
    assert rows["report_3"].right == "prob" and rows["report_3"].cosine == pytest.approx(-1.0) and rows["report_3"].level == "bad"
    assert rows["report_9"].right is None and "no counterpart" in rows["report_9"].note
    assert result.unmatched_right == ["conv1"]
    (nnie / "conv1.hex").write_text((nnie / "report_1.hex").read_text())  # a dump named after the in-place blob
    rows = {r.left: r for r in dumps.compare_dumps(nnie, caffe, tmp_path / "cnn_net_tree.dot").rows}
    assert rows["conv1"].right == "relu1" and rows["conv1"].cosine == pytest.approx(1.0, abs=1e-7)
    without = {r.left: r.right for r in dumps.compare_dumps(nnie, caffe).rows}
    assert without == {"conv1": "conv1", "report_1": None, "report_2": None, "report_3": None, "report_9": None}


def test_levels_follow_the_nnie_thresholds(tmp_path):
    rng = np.random.default_rng(3)
    ref = rng.normal(0, 1, 4000)
    noise = rng.normal(0, 1, 4000)
    noise -= noise @ ref / (ref @ ref) * ref  # orthogonal to ref: cosine = 1/sqrt(1 + k^2 |n|^2/|r|^2)
    left, right = tmp_path / "l", tmp_path / "r"
    left.mkdir()
    right.mkdir()
    for name, target in (("a", 0.995), ("b", 0.97), ("c", 0.90)):
        k = np.sqrt(1 / target**2 - 1) * np.linalg.norm(ref) / np.linalg.norm(noise)
        dumps.write_float(left / f"{name}.float", ref)
        dumps.write_float(right / f"{name}.float", ref + k * noise)
    rows = {r.left: r for r in dumps.compare_dumps(left, right).rows}
    assert rows["a"].cosine == pytest.approx(0.995, abs=1e-6) and rows["a"].level == "fine"
    assert rows["b"].cosine == pytest.approx(0.97, abs=1e-6) and rows["b"].level == "suspicious"
    assert rows["c"].cosine == pytest.approx(0.90, abs=1e-6) and rows["c"].level == "bad"


def test_cli_compare_dumps(tmp_path, capsys):
    conv, relu, pool, prob = _layers()
    nnie, caffe = tmp_path / "nnie", tmp_path / "caffe"
    nnie.mkdir()
    caffe.mkdir()
    dumps.write_hex(nnie / "report_1.hex", relu)
    dumps.write_hex(nnie / "report_2.hex", pool)
    dumps.write_float(caffe / "relu1.float", relu.astype(np.float32))
    dumps.write_float(caffe / "pool1.float", pool.astype(np.float32))
    (tmp_path / "net.dot").write_text(DOT)
    code = main(["compare-dumps", str(nnie), str(caffe), "--dot", str(tmp_path / "net.dot")])
    out = capsys.readouterr().out
    assert code == 0, out
    assert "report_1" in out and "relu1" in out and "fine" in out and "2 layers compared" in out
    dumps.write_hex(nnie / "report_2.hex", -pool)
    code = main(["compare-dumps", str(nnie), str(caffe), "--dot", str(tmp_path / "net.dot")])
    out = capsys.readouterr().out
    assert code == 1 and "bad" in out and "first layer below 0.99: report_2" in out, out
    (caffe / "pool1.float").write_text("1.0\nnan?\n")
    code = main(["compare-dumps", str(nnie), str(caffe), "--dot", str(tmp_path / "net.dot")])
    captured = capsys.readouterr()
    assert code == 2 and f"{caffe / 'pool1.float'}:2:" in captured.err and "Traceback" not in captured.err


def test_npz_side(tmp_path):
    conv, relu, pool, prob = _layers()
    np.savez(tmp_path / "reference.npz", conv1=conv.reshape(1, 4, 4, 4), pool1=pool)
    folder = tmp_path / "f"
    folder.mkdir()
    dumps.write_hex(folder / "conv1.hex", conv)
    rows = {r.left: r for r in dumps.compare_dumps(tmp_path / "reference.npz", folder).rows}
    assert rows["conv1"].cosine > 0.999999 and rows["conv1"].max_abs <= 0.5 / 4096 + 1e-12
    assert rows["pool1"].right is None


def test_two_single_files_are_compared_whatever_their_names(tmp_path):
    values = np.array([0.5, -0.25, 3.0, -7.75])
    dumps.write_hex(tmp_path / "conv1_output0_quant.hex", values)
    dumps.write_float(tmp_path / "conv1.float", values.astype(np.float32))
    (row,) = dumps.compare_dumps(tmp_path / "conv1_output0_quant.hex", tmp_path / "conv1.float").rows
    assert (row.left, row.right, row.size, row.max_abs) == ("conv1_output0_quant", "conv1", 4, 0.0)
    assert row.cosine == pytest.approx(1.0)
    (tmp_path / "short.float").write_text("0.5\n-0.25\n")
    (row,) = dumps.compare_dumps(tmp_path / "conv1.float", tmp_path / "short.float").rows
    assert row.note == "4 values vs 2" and row.level is None


def test_save_tensors_keeps_any_tensor_name(tmp_path):
    arrays = {"file": np.arange(3.0), "stage1/conv:0": np.ones((1, 2), np.float32), "allow_pickle": np.zeros(2)}
    folder = dumps.save_tensors(tmp_path, {"data": (1, 3, 5, 7)}, {"data": np.ones((1, 3, 5, 7))}, arrays, arrays)
    assert folder == tmp_path / "1x3x5x7"
    loaded = np.load(folder / "reference.npz")
    assert loaded.files == list(arrays) and all(np.array_equal(loaded[k], v) for k, v in arrays.items())
    assert loaded["stage1/conv:0"].dtype == np.float32
