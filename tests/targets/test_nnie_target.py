"""The nnie target: plain Caffe that NNIE's mapper takes (no ReLU6/Clip/Threshold, Power
shift 1.0 nudged, at most 16 outputs), still matching the source in OpenCV dnn."""
import numpy as np
import onnx
import pytest
from onnx import helper

import modelport
from modelport.errors import UnsupportedOpsError
from modelport.targets import nnie
from backends.caffe.caffe_support import init, layer_types, model, read_prototxt
from models.test_gluon_zoo import export_zoo


def test_mobilenetv2_has_no_relu6_and_matches_mxnet(tmp_path):
    shape = (1, 3, 64, 64)
    symbol, params = export_zoo("mobilenetv2_0.25", shape, tmp_path)
    result = modelport.convert(symbol, params, to="nnie", output_dir=tmp_path / "nnie", inputs={"data": shape})
    assert [f.name for f in result.files] == ["mobilenetv2_0.25.nnie.prototxt", "mobilenetv2_0.25.nnie.caffemodel"]
    types = layer_types(read_prototxt(result.files[0]))
    assert not {"ReLU6", "Clip", "Threshold"} & set(types) and "Power" in types
    report = modelport.verify(symbol, result.files[0], params)
    cmp = report.runs[0].comparison
    assert cmp.first_divergence is None and cmp.outputs and cmp.missing == []
    lines = nnie.inspect(symbol, params, {"data": shape})
    assert lines[0].startswith("35 Clip/ReLU6 node(s)") or "Clip/ReLU6" in lines[0]
    assert any("DepthwiseConv" in line for line in lines)


def _plus_one(tmp_path):
    nodes = [helper.make_node("Tanh", ["x"], ["t"]), helper.make_node("Add", ["t", "one"], ["y"])]
    onnx.save(model(nodes, {"x": (1, 3, 4, 4)}, ["y"], [init("one", np.array(1.0, np.float32))]), tmp_path / "m.onnx")
    return tmp_path / "m.onnx"


def test_power_shift_of_one_is_nudged_and_reported(tmp_path):
    source = _plus_one(tmp_path)
    result = modelport.convert(source, to="nnie", output_dir=tmp_path / "a", inputs={"x": (1, 3, 4, 4)})
    text = result.files[0].read_text()
    power = read_prototxt(result.files[0]).layer[-1]
    assert power.type == "Power" and power.power_param.shift == pytest.approx(1.0001)
    assert "# modelport.notes: Power shift 1.0 nudged to 1.0001" in text and ": y" in text
    # off: exactly 1.0, and then it matches onnxruntime on the original
    off = modelport.convert(source, to="nnie", output_dir=tmp_path / "b", inputs={"x": (1, 3, 4, 4)},
                            extra={"shift_nudge": False})
    assert read_prototxt(off.files[0]).layer[-1].power_param.shift == 1.0
    assert modelport.verify(source, off.files[0]).ok
    nudged = modelport.verify(source, result.files[0]).runs[0].comparison
    row = next(r for r in nudged.rows if r.name == "y")
    assert row.max_abs == pytest.approx(1e-4, rel=0.05)  # the nudge is not exact: y + 1e-4


def test_more_than_16_outputs_are_merged(tmp_path):
    starts = [init(f"s{k}", np.array([k], np.int64)) for k in range(20)]
    ends = [init(f"e{k}", np.array([k + 1], np.int64)) for k in range(20)]
    axes = init("ax", np.array([1], np.int64))
    nodes = [helper.make_node("Slice", ["x", f"s{k}", f"e{k}", "ax"], [f"p{k}"]) for k in range(20)]
    nodes.append(helper.make_node("Concat", [f"p{k}" for k in range(20)], ["y"], axis=1))
    source = tmp_path / "m.onnx"
    onnx.save(model(nodes, {"x": (1, 20, 3, 3)}, ["y"], starts + ends + [axes]), source)
    plain = modelport.convert(source, to="caffe", output_dir=tmp_path / "a", inputs={"x": (1, 20, 3, 3)})
    net = read_prototxt(plain.files[0])
    assert any("outputs" in problem for _, problem, _ in nnie.lint(net))
    result = modelport.convert(source, to="nnie", output_dir=tmp_path / "b", inputs={"x": (1, 20, 3, 3)})
    net = read_prototxt(result.files[0])
    read = {b for layer in net.layer for b in layer.bottom}
    assert [t for layer in net.layer for t in layer.top if t not in read] == ["y", "modelport__unused"]
    assert not nnie.lint(net)
    assert modelport.verify(source, result.files[0]).ok


def test_permute_order_nnie_lacks_is_refused(tmp_path):
    source = tmp_path / "m.onnx"
    onnx.save(model([helper.make_node("Transpose", ["x"], ["y"], perm=[0, 3, 1, 2])], {"x": (1, 2, 3, 4)}, ["y"]), source)
    with pytest.raises(UnsupportedOpsError, match=r"Permute order \[0, 3, 1, 2\]"):
        modelport.convert(source, to="nnie", output_dir=tmp_path / "o", inputs={"x": (1, 2, 3, 4)})
    assert modelport.convert(source, to="caffe", output_dir=tmp_path / "c", inputs={"x": (1, 2, 3, 4)}).files
