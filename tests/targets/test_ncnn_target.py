"""The ncnn target profile: registered, static shapes, every refusal at once before anything
is written, batch > 1 refused naming the input, options."""
import numpy as np
import onnx
import pytest
from onnx import helper

import modelport
from modelport import targets
from modelport.errors import ModelportError, UnsupportedOpsError
from passes.support import init, make_model, vinfo


def _save(tmp_path, nodes, shape, inits=(), outputs=("y",)):
    proto = make_model(nodes, [vinfo("x", list(shape))], [vinfo(o, None) for o in outputs], list(inits))
    path = tmp_path / "m.onnx"
    onnx.save(proto, str(path))
    return path


def test_registered_with_static_shapes():
    t = targets.get("ncnn")
    assert t.suffix == ".param" and t.static_shapes
    assert targets.for_file("a/b.param") is t


def test_every_unsupported_node_listed_at_once_and_nothing_written(tmp_path):
    nodes = [helper.make_node("Erf", ["x"], ["e"], name="erf"), helper.make_node("Relu", ["e"], ["r"], name="relu"),
             helper.make_node("Transpose", ["r"], ["t"], name="swap_batch", perm=[1, 0, 2]),
             helper.make_node("Slice", ["t", "s", "e2", "a", "st"], ["y"], name="strided")]
    inits = [init(n, np.array(v, np.int64)) for n, v in (("s", [0]), ("e2", [4]), ("a", [2]), ("st", [2]))]
    path = _save(tmp_path, nodes, (1, 3, 4), inits)
    out = tmp_path / "out"
    with pytest.raises(UnsupportedOpsError) as err:
        modelport.convert(path, to="ncnn", output_dir=out, inputs={"x": (1, 3, 4)})
    text = str(err.value)
    assert "Erf" in text and "erf" in text
    assert "swap_batch" in text and "batch axis" in text
    assert "strided" in text and "steps" in text
    assert not out.exists() or not any(out.iterdir())


def test_batch_above_one_is_refused_naming_the_input(tmp_path):
    path = _save(tmp_path, [helper.make_node("Relu", ["x"], ["y"])], (2, 3, 4))
    with pytest.raises(UnsupportedOpsError, match=r"input 'x' of shape \(2, 3, 4\): ncnn runs batch 1 only"):
        modelport.convert(path, to="ncnn", output_dir=tmp_path / "out", inputs={"x": (2, 3, 4)})


def test_files_written_and_unknown_option_refused(tmp_path):
    path = _save(tmp_path, [helper.make_node("Relu", ["x"], ["y"])], (1, 3, 4))
    result = modelport.convert(path, to="ncnn", output_dir=tmp_path / "out", inputs={"x": (1, 3, 4)})
    assert [f.name for f in result.files] == ["m.param", "m.bin", "m.modelport.json"]
    with pytest.raises(ModelportError, match="unknown option"):
        modelport.convert(path, to="ncnn", output_dir=tmp_path / "out2", inputs={"x": (1, 3, 4)}, extra={"fp61": 1})


def test_optimize_false_keeps_batchnorm_and_activation(tmp_path):
    r = np.random.default_rng(0)
    nodes = [helper.make_node("Conv", ["x", "w"], ["c"]),
             helper.make_node("BatchNormalization", ["c", "g", "b", "m", "v"], ["n"]),
             helper.make_node("Relu", ["n"], ["y"])]
    inits = [init("w", r.normal(size=(2, 3, 1, 1)).astype(np.float32))] + [
        init(k, r.uniform(0.5, 1.5, 2).astype(np.float32)) for k in "gbmv"]
    path = _save(tmp_path, nodes, (1, 3, 4, 4), inits)
    from ncnn_support import convert_and_verify

    for optimize, expected in ((True, ["Input", "Convolution"]), (False, ["Input", "Convolution", "BatchNorm", "ReLU"])):
        result, cmp = convert_and_verify(path, None, {"x": (1, 3, 4, 4)}, tmp_path / str(optimize), optimize=optimize)
        assert [line.split()[0] for line in result.files[0].read_text().splitlines()[2:]] == expected
        assert (dict(cmp.folded) == {"c": "y", "n": "y"}) == optimize


@pytest.mark.parametrize("pattern,code", [("hardswish", "9=6"), ("relu6", "9=3"), ("leaky", "9=2")])
def test_conv_activation_patterns_become_one_layer(tmp_path, pattern, code):
    """PyTorch's x * relu6(x + 3) / 6 after a convolution: one Convolution with
    activation_type 6; Clip(0, 6) as type 3; LeakyRelu as type 2, verified against onnxruntime."""
    from ncnn_support import convert_and_verify

    r = np.random.default_rng(0)
    N = helper.make_node
    nodes = [N("Conv", ["x", "w", "b"], ["c"], pads=[1, 1, 1, 1])]
    if pattern == "hardswish":
        nodes += [N("Add", ["c", "three"], ["a"]), N("Clip", ["a", "zero", "six"], ["h"]),
                  N("Mul", ["c", "h"], ["m"]), N("Div", ["m", "six"], ["y"])]
    elif pattern == "relu6":
        nodes += [N("Clip", ["c", "zero", "six"], ["y"])]
    else:
        nodes += [N("LeakyRelu", ["c"], ["y"], alpha=0.1)]
    inits = [init("w", r.normal(size=(4, 3, 3, 3)).astype(np.float32)), init("b", r.normal(size=4).astype(np.float32)),
             init("three", np.array(3, np.float32)), init("zero", np.array(0, np.float32)),
             init("six", np.array(6, np.float32))]
    inits = [i for i in inits if any(i.name in n.input for n in nodes)]
    path = _save(tmp_path, nodes, (1, 3, 6, 5), inits)
    result, cmp = convert_and_verify(path, None, {"x": (1, 3, 6, 5)}, tmp_path / "out", input_range=(-3.0, 3.0))
    lines = result.files[0].read_text().splitlines()[2:]
    assert [line.split()[0] for line in lines] == ["Input", "Convolution"]
    assert code in lines[1].split()
    assert dict(cmp.folded)["c"] == "y"


def test_converting_to_ncnn_needs_no_engine(tmp_path):
    """The writer is pure Python: converting loads neither ncnn nor onnxruntime nor mxnet."""
    import subprocess
    import sys

    path = _save(tmp_path, [helper.make_node("Relu", ["x"], ["y"])], (1, 3, 4))
    probe = ("import sys, modelport\n"
             f"modelport.convert({str(path)!r}, to='ncnn', output_dir={str(tmp_path / 'out')!r}, inputs={{'x': (1, 3, 4)}})\n"
             "print('LOADED:', ' '.join(m for m in ('ncnn', 'onnxruntime', 'mxnet') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert out.stdout.rpartition("LOADED:")[2].split() == []


def test_free_input_sizes_are_one_clear_refusal(tmp_path):
    path = _save(tmp_path, [helper.make_node("Relu", ["x"], ["r"]), helper.make_node("Tanh", ["r"], ["y"])],
                 (1, 3, "h"))
    import onnx_ir as ir

    from modelport.backends.ncnn.writer import plan

    _, problems = plan(ir.load(str(path)))
    assert problems == ["input 'x' has no static shape: ncnn models are converted at fixed sizes "
                        "(give them with --input NAME:1,C,H,W): x"]


def test_integer_input_is_refused(tmp_path):
    proto = make_model([helper.make_node("Cast", ["x"], ["y"], to=1)],
                       [vinfo("x", [1, 3], onnx.TensorProto.INT64)], [vinfo("y", None)])
    path = tmp_path / "m.onnx"
    onnx.save(proto, str(path))
    with pytest.raises(UnsupportedOpsError, match="input 'x' is INT64: ncnn inputs are float32"):
        modelport.convert(path, to="ncnn", output_dir=tmp_path / "out", inputs={"x": (1, 3)})
