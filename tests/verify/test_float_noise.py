"""Float32 noise is not a divergence (issue 12, item 4): when a tensor misses the fixed tolerance,
verify runs the MXNet reference in float64 and accepts a candidate no farther from it than MXNet's
own float32 result is (x2); a real 1e-3 error stays a divergence."""
import numpy as np
import onnx
from onnx import numpy_helper

import modelport
from modelport.runtimes.mxnet_runner import MXNetRunner
from modelport.targets.onnx import runner as onnx_runner
from modelport.verify.api import verify_runners
from modelport.verify.compare import compare_one
from modelport.verify.tolerance import Tolerance
from mxnet_ncnn import save
from oracle import random_params

SHAPE = {"data": (1, 3, 32, 32)}


def test_compare_one_accepts_rounding_and_rejects_errors():
    rng = np.random.default_rng(0)
    truth = rng.normal(0, 1, 4000)
    ref = (truth + rng.normal(0, 3e-4, truth.shape)).astype(np.float32)   # the reference's own noise
    got = (truth + rng.normal(0, 3e-4, truth.shape)).astype(np.float32)   # the candidate's, as large
    assert not compare_one("t", ref, got, Tolerance()).ok
    row = compare_one("t", ref, got, Tolerance(), truth=truth)
    assert row.ok and row.note.startswith("float32 noise")
    wrong = (truth * 1.003).astype(np.float32)  # a real 0.3 % error: far beyond the reference's noise
    assert not compare_one("t", ref, wrong, Tolerance(), truth=truth).ok
    clean = truth.astype(np.float32)
    assert not compare_one("t", clean, (truth * 1.001).astype(np.float32), Tolerance(), truth=truth).ok


def cancellation(tmp_path, factor: float):
    """out = (big + small) - big: big's float32 rounding (ulp ~1e-3 at factor 1e4) is all that is
    left of it, so two engines' convolutions summed in different orders differ by that much."""
    import mxnet as mx

    x = mx.sym.var("data")
    big = mx.sym.Convolution(x, num_filter=8, kernel=(3, 3), pad=(1, 1), name="big")
    small = mx.sym.Convolution(x, num_filter=8, kernel=(3, 3), pad=(1, 1), name="small")
    out = mx.sym.elemwise_sub(mx.sym.elemwise_add(big, small, name="sum"), big, name="out")
    args, aux = random_params(out, SHAPE)
    args["big_weight"] = args["big_weight"] * factor
    symbol, params = save(out, SHAPE, tmp_path, args=args, aux=aux)
    converted = modelport.convert(symbol, params, to="onnx", output_dir=tmp_path / "onnx", inputs=SHAPE,
                                  optimize=False).files[0]
    return symbol, params, converted


class Float32Only:
    """The MXNet runner without its float64 run: what verify did before."""

    def __init__(self, runner):
        self._runner = runner

    def __getattr__(self, name):
        if name == "run_float64":
            raise AttributeError(name)
        return getattr(self._runner, name)


def test_deep_cancellation_is_rounding_not_divergence(tmp_path):
    symbol, params, converted = cancellation(tmp_path, 1e4)
    before = verify_runners(Float32Only(MXNetRunner(symbol, params)), onnx_runner(converted), shapes=[SHAPE])
    assert before.runs[0].comparison.first_divergence.name == "out"   # the fixed tolerance alone: a false alarm
    report = verify_runners(MXNetRunner(symbol, params), onnx_runner(converted), shapes=[SHAPE])
    assert report.ok
    (out,) = [r for r in report.runs[0].comparison.rows if r.name == "out"]
    assert out.note.startswith("float32 noise: the reference's own float32 result is")


def test_a_real_small_error_in_a_shallow_net_is_still_caught(tmp_path):
    symbol, params, converted = cancellation(tmp_path, 1.0)  # shallow, no cancellation to speak of
    model = onnx.load(str(converted))
    for init in model.graph.initializer:
        if init.name == "small_weight":
            init.CopyFrom(numpy_helper.from_array(numpy_helper.to_array(init) * np.float32(1.001), init.name))
    onnx.save(model, str(converted))
    report = verify_runners(MXNetRunner(symbol, params), onnx_runner(converted), shapes=[SHAPE])
    first = report.runs[0].comparison.first_divergence
    assert first is not None and first.name == "small" and not first.note


def test_a_float64_run_that_computes_something_else_excuses_nothing():
    """MXNet's float32 SoftmaxOutput on 4-D input goes to oneDNN (last axis), its float64 one to
    MXNet's own kernel (all non-batch elements): a candidate equal to the float64 run is still a
    divergence from what MXNet computes in float32."""
    rng = np.random.default_rng(2)
    x = rng.normal(0, 1, (1, 5, 8, 8))
    last = np.exp(x) / np.exp(x).sum(axis=-1, keepdims=True)
    flat = (np.exp(x) / np.exp(x).sum()).astype(np.float64)
    row = compare_one("softmax", last.astype(np.float32), flat.astype(np.float32), Tolerance(), truth=flat)
    assert not row.ok and row.note == ""


def test_nan_cells_of_every_side_are_left_out_of_the_noise_measure():
    """NaN channels (a BatchNorm with negative variance) are NaN in float32 and float64 alike: the
    float32 noise of the other cells is still noise. A NaN only the float64 run has excuses nothing."""
    rng = np.random.default_rng(3)
    truth = rng.normal(0, 1, (1, 64, 2, 2))
    ref = (truth + rng.normal(0, 3e-4, truth.shape)).astype(np.float32)
    got = (truth + rng.normal(0, 3e-4, truth.shape)).astype(np.float32)
    for a in (truth, ref, got):
        a[0, ::3] = np.nan
    assert not compare_one("t", ref, got, Tolerance()).ok
    row = compare_one("t", ref, got, Tolerance(), truth=truth)
    assert row.ok and row.note.startswith("float32 noise")
    more = truth.copy()
    more[0, 1] = np.nan  # NaN where both float32 results are finite: not the same computation
    assert not compare_one("t", ref, got, Tolerance(), truth=more).ok


def _conv_runner(sym, tmp_path):
    """MXNet's runner for ``sym`` with random weights, and one random input."""
    args, aux = random_params(sym, SHAPE)
    symbol, params = save(sym, SHAPE, tmp_path, args=args, aux=aux)
    return MXNetRunner(symbol, params), {"data": np.random.default_rng(0).uniform(-1, 1, SHAPE["data"]).astype(np.float32)}


def test_float64_values_of_the_part_that_can_run_in_float64(tmp_path):
    """A graph whose later part pins another float type (a float16 constant) cannot run in float64
    as a whole: each wanted tensor is then run with only what it depends on."""
    import mxnet as mx

    from modelport.verify.api import _float64

    x = mx.sym.Convolution(mx.sym.var("data"), num_filter=4, kernel=(3, 3), name="conv")
    pinned = mx.sym.broadcast_add(x, mx.sym.zeros((1, 1, 1, 1), dtype="float16"), name="pinned")
    runner, feeds = _conv_runner(pinned, tmp_path)
    truth = _float64(runner, feeds, ["conv", "pinned"])
    assert set(truth) == {"conv"} and truth["conv"].dtype == np.float64
    assert np.abs(truth["conv"] - runner.run(feeds, ["conv"])["conv"]).max() < 1e-5


def test_float32_made_in_the_graph_is_float64_in_the_float64_run(tmp_path):
    """Nodes that make float32 values (a Cast of an image size, a float32 constant, argsort's indices by
    default: GluonCV's box clipping, YOLOv3's grid, Mask R-CNN's RoI order) make float64 ones in the
    float64 run, so the tensors after them have a float64 truth, equal to MXNet's float32 result
    within its rounding."""
    import mxnet as mx

    from modelport.verify.api import _float64

    x = mx.sym.Convolution(mx.sym.var("data"), num_filter=4, kernel=(3, 3), name="conv")
    size = mx.sym.Cast(mx.sym.slice_axis(mx.sym.shape_array(x), axis=0, begin=2, end=3), dtype="float32")
    clipped = mx.sym.broadcast_minimum(x, size, name="clipped")
    pinned = mx.sym.broadcast_add(clipped, mx.sym.zeros((1, 1, 1, 1), dtype="float32"), name="pinned")
    out = mx.sym.broadcast_add(pinned, mx.sym.argsort(x, axis=-1), name="ranked")  # float32 indices by default
    runner, feeds = _conv_runner(out, tmp_path)
    truth = _float64(runner, feeds, ["clipped", "pinned", "ranked"])
    assert set(truth) == {"clipped", "pinned", "ranked"} and truth["ranked"].dtype == np.float64
    assert np.abs(truth["ranked"] - runner.run(feeds, ["ranked"])["ranked"]).max() < 1e-5
