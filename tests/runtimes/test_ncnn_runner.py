"""The ncnn runner: every blob by name, batch-1 inputs only, fp16 off, a thread count, a
malformed model one clear VerificationError from the child process."""
import numpy as np
import onnx
import pytest
from onnx import helper

import modelport
from modelport.errors import VerificationError
from modelport.runtimes.ncnn_runner import NcnnRunner
from passes.support import assert_close, init, make_model, run, vinfo


@pytest.fixture
def converted(tmp_path):
    r = np.random.default_rng(0)
    nodes = [helper.make_node("Conv", ["x", "w"], ["c"], pads=[1, 1, 1, 1]), helper.make_node("Tanh", ["c"], ["t"]),
             helper.make_node("Add", ["t", "c"], ["y"])]
    proto = make_model(nodes, [vinfo("x", [1, 3, 6, 5])], [vinfo("y", None)],
                       [init("w", r.normal(size=(4, 3, 3, 3)).astype(np.float32))])
    path = tmp_path / "m.onnx"
    onnx.save(proto, str(path))
    result = modelport.convert(path, to="ncnn", output_dir=tmp_path / "out", inputs={"x": (1, 3, 6, 5)})
    return proto, result.files[0]


@pytest.mark.parametrize("threads", [1, 2])
def test_every_blob_by_name(converted, threads):
    proto, param = converted
    runner = NcnnRunner.isolated(param, threads)
    try:
        assert runner.input_names() == ["x"]
        assert runner.input_dims() == {"x": (1, 3, 6, 5)}
        assert runner.order() == ["c", "t", "y"]
        assert runner.head_names() == ["y"]
        assert runner.op_of() == {"c": "Convolution", "t": "TanH", "y": "BinaryOp"}
        x = np.random.default_rng(1).normal(size=(1, 3, 6, 5)).astype(np.float32)
        got = runner.run({"x": x})
        ref = run(proto, {"x": x})
        assert got["y"].shape == (4, 6, 5)  # no batch axis
        assert_close(ref["y"], got["y"].reshape(1, 4, 6, 5))
        assert runner.accepts({"x": (1, 3, 6, 5)})
        assert not runner.accepts({"x": (2, 3, 6, 5)})
        assert not runner.accepts({"y": (1, 3, 6, 5)})
    finally:
        runner.close()


def test_fp16_options_are_off(converted):
    runner = NcnnRunner(converted[1])
    opt = runner.net.opt
    assert not (opt.use_fp16_storage or opt.use_fp16_arithmetic or opt.use_fp16_packed or opt.use_bf16_storage)
    assert runner.load_log == ""


def test_malformed_model_is_one_clear_error(tmp_path, converted):
    _, param = converted
    bad = tmp_path / "bad.param"
    bad.write_text(param.read_text().replace("Convolution", "Convolution", 1).replace("6=108", "6=999999"))
    bad.with_suffix(".bin").write_bytes(param.with_suffix(".bin").read_bytes())
    with pytest.raises(VerificationError, match="ncnn"):
        NcnnRunner.isolated(bad)
    garbage = tmp_path / "g.param"
    garbage.write_text("not a model\n")
    garbage.with_suffix(".bin").write_bytes(b"")
    with pytest.raises(VerificationError, match="not an ncnn .param"):
        NcnnRunner.isolated(garbage)
