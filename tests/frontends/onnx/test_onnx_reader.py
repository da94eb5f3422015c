"""Reading .onnx files: external data confined to the model's folder, foreign and truncated
files refused, opsets upgraded to 17 without changing what the model computes.

(File named test_onnx_reader.py: tests/frontends/mxnet/test_reader.py has the plain name and
these folders are not packages.)"""
from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import onnx
import onnx.external_data_helper
import pytest
from onnx import helper

import modelport
from modelport.errors import ModelFileError
from modelport.frontends.onnx.reader import read_onnx
from onnx_frontend_support import W, assert_same, const, conv_relu, init, make, op_types, opset_of, ort_run, save, vinfo

X = np.random.default_rng(3).normal(0, 1, (1, 3, 8, 8)).astype(np.float32)


# --- external data -------------------------------------------------------------------------

def external_model(folder: Path, location: str = "w.bin") -> Path:
    """conv_relu with both weights in ``folder/location`` (w at offset 0, 864 bytes; b after it)."""
    path = folder / "model.onnx"
    (path.parent / Path(location).parent).mkdir(parents=True, exist_ok=True)
    onnx.save_model(conv_relu(), str(path), save_as_external_data=True, all_tensors_to_one_file=True,
                    location=location, size_threshold=0)
    return path


def set_external(path: Path, tensor: str, **changes) -> Path:
    """Rewrite ``tensor``'s external_data entries (a value of None removes the key)."""
    proto = onnx.load(str(path), load_external_data=False)
    t = next(t for t in proto.graph.initializer if t.name == tensor)
    info = {e.key: e.value for e in t.external_data}
    info.update({k: str(v) for k, v in changes.items() if v is not None})
    for key in [k for k, v in changes.items() if v is None]:
        info.pop(key, None)
    del t.external_data[:]
    for key, value in info.items():
        entry = t.external_data.add()
        entry.key, entry.value = key, value
    onnx.save(proto, str(path))
    return path


def test_external_data_inside_the_models_folder_loads(tmp_path):
    path = external_model(tmp_path / "m")
    assert (tmp_path / "m" / "w.bin").stat().st_size == W.nbytes + 8 * 4
    proto = read_onnx(path)
    w = next(t for t in proto.graph.initializer if t.name == "w")
    np.testing.assert_array_equal(onnx.numpy_helper.to_array(w), W)
    result = modelport.convert(path, output_dir=tmp_path / "out")
    assert_same(ort_run(path, {"x": X}), ort_run(result.files[0], {"x": X}))


def test_external_data_in_a_subfolder_loads(tmp_path):
    path = external_model(tmp_path / "m", location="weights/all.bin")
    result = modelport.convert(path, output_dir=tmp_path / "out")
    assert_same(ort_run(path, {"x": X}), ort_run(result.files[0], {"x": X}))


def _outside(tmp_path: Path) -> Path:
    """A file OUTSIDE the model's folder holding exactly the bytes the model expects."""
    secret = tmp_path / "secret.bin"
    secret.write_bytes((tmp_path / "m" / "w.bin").read_bytes())
    return secret


REFUSED = {
    "dotdot": lambda tmp: {"location": "../secret.bin"},
    "dotdot_deep": lambda tmp: {"location": "sub/../../secret.bin"},
    "absolute_inside": lambda tmp: {"location": str(tmp / "m" / "w.bin")},
    "absolute_outside": lambda tmp: {"location": str(tmp / "secret.bin")},
    "symlink_out": lambda tmp: {"location": "link.bin"},
    "folder_itself": lambda tmp: {"location": "."},
    "missing_file": lambda tmp: {"location": "nope.bin"},
    "length_beyond_end": lambda tmp: {"offset": 64, "length": W.nbytes},
    "offset_beyond_end": lambda tmp: {"offset": 10_000, "length": None},
    "negative_offset": lambda tmp: {"offset": -4},
    "short_length": lambda tmp: {"length": 100},
    "long_length": lambda tmp: {"length": W.nbytes + 4},
    "no_length_file_too_short": lambda tmp: {"location": "short.bin", "length": None},
    "no_length_file_too_long": lambda tmp: {"length": None},  # w.bin also holds b: onnx would read w+b
    "malformed_offset": lambda tmp: {"offset": "abc"},
}


@pytest.mark.parametrize("case", list(REFUSED))
def test_bad_external_data_is_refused_before_reading(tmp_path, monkeypatch, case):
    path = external_model(tmp_path / "m")
    _outside(tmp_path)
    os.symlink(tmp_path / "secret.bin", tmp_path / "m" / "link.bin")
    (tmp_path / "m" / "short.bin").write_bytes(b"\0" * 100)
    set_external(path, "w", **REFUSED[case](tmp_path))

    def no_read(*args, **kwargs):
        raise AssertionError("external data was read although a location is refused")

    monkeypatch.setattr(onnx.external_data_helper, "load_external_data_for_model", no_read)
    with pytest.raises(ModelFileError) as err:
        modelport.convert(path, output_dir=tmp_path / "out")
    assert "'w'" in str(err.value) and str(path) in str(err.value)
    assert not (tmp_path / "out").exists()


def test_external_data_of_a_constant_node_is_confined_too(tmp_path):
    """Tensors inside node attributes (Constant) are checked as well as initializers."""
    proto = make([const("wc", W), helper.make_node("Conv", ["x", "wc"], ["y"], pads=[1, 1, 1, 1])],
                 [vinfo("x", [1, 3, 8, 8])], [vinfo("y", [1, 8, 8, 8])])
    path = tmp_path / "m" / "model.onnx"
    path.parent.mkdir()
    onnx.save_model(proto, str(path), save_as_external_data=True, location="c.bin", size_threshold=0,
                    convert_attribute=True)
    result = modelport.convert(path, output_dir=tmp_path / "ok")
    assert_same(ort_run(path, {"x": X}), ort_run(result.files[0], {"x": X}))

    proto = onnx.load(str(path), load_external_data=False)
    tensor = proto.graph.node[0].attribute[0].t
    assert tensor.data_location == onnx.TensorProto.EXTERNAL
    next(e for e in tensor.external_data if e.key == "location").value = "../c.bin"
    (tmp_path / "c.bin").write_bytes((tmp_path / "m" / "c.bin").read_bytes())
    onnx.save(proto, str(path))
    with pytest.raises(ModelFileError, match="'wc'.*outside the model's folder"):
        modelport.convert(path, output_dir=tmp_path / "out")


# --- not an ONNX model ----------------------------------------------------------------------

def test_every_truncation_of_a_model_is_a_model_file_error(tmp_path):
    data = conv_relu().SerializeToString()
    path = tmp_path / "t.onnx"
    cuts = sorted({*range(0, len(data), 7), len(data) - 1, len(data) - W.nbytes // 2})
    for cut in cuts:
        path.write_bytes(data[:cut])
        with pytest.raises(ModelFileError) as err:
            modelport.convert(path, output_dir=tmp_path / "out")
        assert str(path) in str(err.value), cut
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("content", [
    json.dumps({"nodes": [{"op": "Convolution", "name": "conv0"}], "arg_nodes": [0]}).encode(),
    np.random.default_rng(5).bytes(4096),
    b"",
    b"hello, world\n",
    b"PK\x03\x04" + bytes(200),
    b"\x08\x07",  # a valid protobuf (ir_version = 7) with no graph
], ids=["json", "random", "empty", "text", "zip", "no_graph"])
def test_a_file_that_is_not_onnx_is_a_model_file_error(tmp_path, content):
    path = tmp_path / "model.onnx"
    path.write_bytes(content)
    with pytest.raises(ModelFileError, match="not an ONNX model") as err:
        modelport.convert(path, output_dir=tmp_path / "out")
    assert str(path) in str(err.value)
    with pytest.raises(ModelFileError):
        modelport.inspect(path)


def test_a_model_without_a_default_opset_is_refused(tmp_path):
    proto = conv_relu()
    del proto.opset_import[:]
    proto.opset_import.append(helper.make_opsetid("com.example", 1))
    path = save(proto, tmp_path / "m.onnx")
    with pytest.raises(ModelFileError, match="no ONNX default-domain opset"):
        modelport.convert(path, output_dir=tmp_path / "out")


# --- opset upgrade --------------------------------------------------------------------------

def _upsample9(mode: str, scales, scales_as_constant: bool) -> onnx.ModelProto:
    nodes = [helper.make_node("Upsample", ["x", "sc"], ["y"], mode=mode)]
    inits = [init("sc", np.array(scales, np.float32))]
    if scales_as_constant:
        nodes, inits = [const("sc", np.array(scales, np.float32))] + nodes, []
    return make(nodes, [vinfo("x", [1, 2, 5, 7])], [vinfo("y", None)], inits, opset=9)


def _resize10(mode: str, scales) -> onnx.ModelProto:
    return make([helper.make_node("Resize", ["x", "sc"], ["y"], mode=mode)], [vinfo("x", [1, 2, 5, 7])],
                [vinfo("y", None)], [init("sc", np.array(scales, np.float32))], opset=10)


def _resize11(mode: str, ctm: str, scales, nearest: str | None = None) -> onnx.ModelProto:
    attrs = {"mode": mode, "coordinate_transformation_mode": ctm}
    if nearest:
        attrs["nearest_mode"] = nearest
    if mode == "cubic":
        attrs["cubic_coeff_a"] = -0.5
    return make([helper.make_node("Resize", ["x", "roi", "sc"], ["y"], **attrs)], [vinfo("x", [1, 2, 5, 7])],
                [vinfo("y", None)], [init("roi", np.array([], np.float32)), init("sc", np.array(scales, np.float32))],
                opset=11)


UPGRADES = {
    **{f"upsample9_{mode}_{'x'.join(map(str, s[2:]))}_{'const' if c else 'init'}": _upsample9(mode, s, c)
       for mode in ("nearest", "linear") for s in ([1, 1, 2, 3], [1, 1, 2.5, 1.5], [1, 1, 1, 1.25])
       for c in (True, False)},
    **{f"resize10_{mode}_{'x'.join(map(str, s[2:]))}": _resize10(mode, s)
       for mode in ("nearest", "linear") for s in ([1, 1, 2, 3], [1, 1, 2.5, 1.5], [1, 1, 0.6, 0.5], [1, 1, 1, 0.75])},
    **{f"resize11_{mode}_{ctm}_{nearest}": _resize11(mode, ctm, [1, 1, 2.5, 1.5], nearest)
       for mode, ctm, nearest in [("nearest", "asymmetric", "floor"), ("nearest", "half_pixel", "round_prefer_floor"),
                                  ("nearest", "align_corners", "round_prefer_ceil"), ("nearest", "asymmetric", "ceil"),
                                  ("linear", "align_corners", None), ("linear", "half_pixel", None),
                                  ("linear", "pytorch_half_pixel", None), ("linear", "asymmetric", None),
                                  ("cubic", "align_corners", None), ("cubic", "half_pixel", None)]},
}


@pytest.mark.parametrize("case", list(UPGRADES))
def test_upgrade_to_opset_17_keeps_what_onnxruntime_computes(tmp_path, case):
    """Upsample (opset 9) and Resize (opsets 10, 11) come out as opset-17 Resize and give what
    onnxruntime gives on the original (which it runs with the old operator's semantics)."""
    original = save(UPGRADES[case], tmp_path / "m.onnx")
    x = np.random.default_rng(11).normal(0, 1, (1, 2, 5, 7)).astype(np.float32)
    ref = ort_run(original, {"x": x})
    result = modelport.convert(original, output_dir=tmp_path / "out")
    assert opset_of(result.files[0]) == 17
    assert op_types(result.files[0]) == ["Resize"]
    onnx.checker.check_model(str(result.files[0]), full_check=True)
    assert_same(ref, ort_run(result.files[0], {"x": x}))


def test_upgrade_of_resize11_with_sizes_and_empty_scales(tmp_path):
    """PyTorch's opset-11 export of F.interpolate(size=...): Resize(x, roi=[], scales=[], sizes)."""
    proto = make([const("roi", np.array([], np.float32)), const("scales", np.array([], np.float32)),
                  const("sizes", np.array([1, 2, 9, 12], np.int64)),
                  helper.make_node("Resize", ["x", "roi", "scales", "sizes"], ["y"], mode="linear",
                                   coordinate_transformation_mode="align_corners")],
                 [vinfo("x", [1, 2, 5, 7])], [vinfo("y", [1, 2, 9, 12])], opset=11)
    original = save(proto, tmp_path / "m.onnx")
    x = np.random.default_rng(12).normal(0, 1, (1, 2, 5, 7)).astype(np.float32)
    result = modelport.convert(original, output_dir=tmp_path / "out")
    assert_same(ort_run(original, {"x": x}), ort_run(result.files[0], {"x": x}))


def test_resize10_nearest_that_enlarges_and_shrinks_is_refused(tmp_path):
    """onnxruntime rounds a Resize-10 nearest down on enlarged axes and up on shrunk ones; opset 11+
    has one nearest_mode per node, so such a node has no exact form."""
    path = save(_resize10("nearest", [1, 1, 0.6, 1.7]), tmp_path / "m.onnx")
    with pytest.raises(ModelFileError, match=r"opset 10.*scales \[1\.0, 1\.0, 0\.6.*opset 17"):
        modelport.convert(path, output_dir=tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_an_op_the_version_converter_refuses_names_the_opsets(tmp_path):
    """Gelu exists from opset 20 on: the converter cannot bring it down to 17."""
    proto = make([helper.make_node("Gelu", ["x"], ["y"])], [vinfo("x", [1, 4])], [vinfo("y", [1, 4])],
                 opset=20, ir_version=9)
    path = save(proto, tmp_path / "m.onnx")
    with pytest.raises(ModelFileError) as err:
        modelport.convert(path, output_dir=tmp_path / "out")
    message = str(err.value)
    assert "opset 20 to 17" in message and "Gelu" in message and str(path) in message
    assert not (tmp_path / "out").exists()


def test_a_converter_failure_gives_a_model_file_error_with_its_first_line(tmp_path, monkeypatch):
    from onnx import version_converter

    def refuse(model, target):
        raise RuntimeError("adapter_lookup: no adapter for FancyOp\nC++ stack trace follows ...")

    monkeypatch.setattr(version_converter, "convert_version", refuse)
    path = save(conv_relu(opset=9), tmp_path / "m.onnx")
    with pytest.raises(ModelFileError) as err:
        modelport.convert(path, output_dir=tmp_path / "out")
    message = str(err.value)
    assert "cannot bring opset 9 to 17" in message and "no adapter for FancyOp" in message
    assert "stack trace" not in message


def test_opset_17_model_is_not_sent_through_the_converter(tmp_path, monkeypatch):
    from onnx import version_converter

    monkeypatch.setattr(version_converter, "convert_version", lambda *a: pytest.fail("converter called"))
    path = save(conv_relu(), tmp_path / "m.onnx")
    result = modelport.convert(path, output_dir=tmp_path / "out")
    assert_same(ort_run(path, {"x": X}), ort_run(result.files[0], {"x": X}))


def test_old_ir_version_is_raised_to_the_contract(tmp_path):
    path = save(conv_relu(opset=9), tmp_path / "m.onnx")
    assert onnx.load(str(path)).ir_version == 4
    result = modelport.convert(path, output_dir=tmp_path / "out")
    written = onnx.load(str(result.files[0]))
    assert written.ir_version >= 8 and opset_of(result.files[0]) == 17
    assert_same(ort_run(path, {"x": X}), ort_run(result.files[0], {"x": X}))


@pytest.mark.parametrize("shape", [(2, 3, 4, 3), (2, 3, 5), (2, 3, 4, 5)], ids=["W_equals_C", "rank3", "rank4"])
@pytest.mark.parametrize("listed_as_input", [False, True])
def test_upgrade_keeps_a_per_channel_prelu_slope_per_channel(tmp_path, shape, listed_as_input):
    """PRelu-6 applies its (C,) slope on axis 1; from opset 7 a (C,) slope broadcasts from the
    LAST axis. onnxruntime has no PRelu-6 kernel, so the reference is numpy. With W == C a kept
    (C,) slope would not even fail: it would compute the wrong thing."""
    slope = np.array([0.1, -0.5, 2.0], np.float32)
    proto = make([helper.make_node("PRelu", ["x", "slope"], ["y"])], [vinfo("x", list(shape))],
                 [vinfo("y", list(shape))], [init("slope", slope)], opset=6)
    if listed_as_input:
        proto.graph.input.append(vinfo("slope", [3]))
    path = save(proto, tmp_path / "m.onnx")
    x = np.random.default_rng(13).normal(0, 1, shape).astype(np.float32)
    per_channel = slope.reshape((3,) + (1,) * (len(shape) - 2))
    expected = np.where(x >= 0, x, x * per_channel)
    result = modelport.convert(path, output_dir=tmp_path / "out")
    np.testing.assert_allclose(ort_run(result.files[0], {"x": x})["y"], expected, rtol=1e-6, atol=1e-7)


def test_prelu_slope_of_one_value_is_left_alone(tmp_path):
    proto = make([helper.make_node("PRelu", ["x", "slope"], ["y"])], [vinfo("x", [2, 3, 4, 5])],
                 [vinfo("y", [2, 3, 4, 5])], [init("slope", np.array([0.25], np.float32))], opset=6)
    result = modelport.convert(save(proto, tmp_path / "m.onnx"), output_dir=tmp_path / "out")
    written = onnx.load(str(result.files[0]))
    assert [list(t.dims) for t in written.graph.initializer] == [[1]]
    x = np.random.default_rng(14).normal(0, 1, (2, 3, 4, 5)).astype(np.float32)
    np.testing.assert_allclose(ort_run(result.files[0], {"x": x})["y"], np.where(x >= 0, x, 0.25 * x), rtol=1e-6)
