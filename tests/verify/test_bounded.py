"""Bounded-memory verify: a reference whose tensors exceed ``memory_budget`` is run and compared a
chunk at a time (``verify.bounded``). A tiny budget on a small model must give the rows, the first
divergence and the diagnosis of the single run, for a matching conversion and a wrong one."""
import mxnet as mx
import numpy as np
import onnx
import pytest
from onnx import numpy_helper

import modelport
from modelport.runtimes.mxnet_runner import MXNetRunner
from modelport.runtimes.onnxruntime_runner import OnnxRuntimeRunner
from modelport.verify import bounded
from mxnet_ncnn import save
from oracle import random_params

SHAPE = {"data": (1, 3, 16, 16)}
BUDGET = 6000  # bytes: a few of this model's tensors per chunk


def _model():
    x = mx.sym.var("data")
    y = mx.sym.Convolution(x, num_filter=8, kernel=(3, 3), pad=(1, 1), name="conv1")
    y = mx.sym.BatchNorm(y, fix_gamma=False, name="bn1")
    y = mx.sym.Activation(y, act_type="relu", name="relu1")
    y = mx.sym.Convolution(y, num_filter=8, kernel=(3, 3), pad=(1, 1), name="conv2")
    y = mx.sym.Activation(y, act_type="relu", name="relu2")
    y = mx.sym.Pooling(y, kernel=(2, 2), stride=(2, 2), pool_type="max", name="pool1")
    y = mx.sym.Convolution(y, num_filter=4, kernel=(1, 1), name="conv3")
    y = mx.sym.Flatten(y, name="flat")
    return mx.sym.FullyConnected(y, num_hidden=10, name="fc")


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    folder = tmp_path_factory.mktemp("bounded")
    sym = _model()
    args, aux = random_params(sym, SHAPE)
    symbol, params = save(sym, SHAPE, folder, args=args, aux=aux)
    converted = modelport.convert(symbol, params, to="onnx", output_dir=folder / "onnx", inputs=SHAPE,
                                  optimize=False).files[0]
    proto = onnx.load(str(converted))
    for init in proto.graph.initializer:
        if init.name == "conv2_weight":
            init.CopyFrom(numpy_helper.from_array(numpy_helper.to_array(init) * 1.5, init.name))
            break
    else:
        raise AssertionError("no conv2_weight initializer to break")
    wrong = folder / "wrong.onnx"
    onnx.save(proto, str(wrong))
    return symbol, params, converted, wrong


def _rows(report):
    return [[(r.name, r.ok, r.max_abs, r.note) for r in run.comparison.rows] for run in report.runs]


def _first(report):
    return [(run.comparison.first_divergence and run.comparison.first_divergence.name,
             run.comparison.cause, run.comparison.diagnosis) for run in report.runs]


def test_chunks_cut_the_order_under_the_budget():
    sizes = {"a": 40, "b": 50, "c": 200, "d": 10, "e": 10}
    assert bounded.chunks(["a", "b", "c", "a", "d", "e"], sizes, 100) == [["a", "b"], ["c"], ["d", "e"]]
    assert bounded.chunks(["a", "x"], sizes, 100) == [["a", "x"]]  # unknown sizes count 0


def test_mxnet_estimates_what_it_returns(model):
    symbol, params, _, _ = model
    runner = MXNetRunner(symbol, params)
    sizes = runner.tensor_bytes(SHAPE)
    feeds = {"data": np.zeros(SHAPE["data"], np.float32)}
    values = runner.run(feeds, "all")
    assert sizes == {k: v.nbytes for k, v in values.items()}


def test_onnxruntime_exposes_only_the_names_asked(model):
    _, _, converted, _ = model
    runner = OnnxRuntimeRunner(converted)
    feeds = {"data": np.random.default_rng(0).uniform(-1, 1, SHAPE["data"]).astype(np.float32)}
    everything = runner.run(feeds, "all")
    some = runner.run(feeds, ["conv2", "relu1", "no_such_tensor"])
    assert set(some) == {"conv2", "relu1"}
    np.testing.assert_array_equal(some["conv2"], everything["conv2"])
    exposed = {o.name for o in runner._subset[1].get_outputs()}
    assert exposed == {"conv2", "relu1", *runner.head_names()}


@pytest.mark.parametrize("which", ["matching", "wrong"])
def test_bounded_gives_the_single_runs_result(model, which):
    symbol, params, converted, wrong = model
    target = converted if which == "matching" else wrong
    single = modelport.verify(symbol, target, params, inputs=SHAPE, memory_budget=None)
    chunked = modelport.verify(symbol, target, params, inputs=SHAPE, memory_budget=BUDGET)
    assert not any("chunks" in n for n in single.notes)
    assert any(n.startswith("verified in ") and "chunks at data:1x3x16x16" in n and "exceed the memory budget" in n
               for n in chunked.notes), chunked.notes
    assert _rows(chunked) == _rows(single)
    assert _first(chunked) == _first(single)
    assert [r.comparison.missing for r in chunked.runs] == [r.comparison.missing for r in single.runs]
    assert [r.comparison.folded for r in chunked.runs] == [r.comparison.folded for r in single.runs]
    assert chunked.ok == single.ok == (which == "matching")
    if which == "wrong":
        assert single.runs[0].comparison.first_divergence.name == "conv2"
        assert single.runs[0].comparison.cause == chunked.runs[0].comparison.cause != ""
        stopped = modelport.verify(symbol, target, params, inputs=SHAPE, memory_budget=BUDGET, stop_at_first=True)
        assert _first(stopped) == _first(single)


def test_budget_above_the_model_keeps_one_run(model):
    symbol, params, converted, _ = model
    seen = []
    report = modelport.verify(symbol, converted, params, inputs=SHAPE, extra_shapes=False,
                              observe=lambda *a: seen.append(len(a[4])))
    assert report.ok and seen and not report.notes
    chunked = modelport.verify(symbol, converted, params, inputs=SHAPE, extra_shapes=False,
                               observe=lambda *a: seen.append("called"), memory_budget=BUDGET)
    assert chunked.ok and "called" not in seen
    assert any("were not produced" in n for n in chunked.notes)


def test_detections_split_from_their_nms_input(tmp_path):
    """GluonCV-style YOLO (box_nms, then slices into ids/scores/boxes): with every tensor in a chunk of
    its own, box_nms's input and the detection comparison's rows still match the single run's."""
    from gluoncv_style import save as save_gluoncv
    from gluoncv_style import yolo_params, yolo_symbol

    sym = yolo_symbol()
    args, aux = yolo_params(sym)
    symbol, params = save_gluoncv(tmp_path, "model", sym, args, aux)
    shapes = [{"data": (1, 3, 64, 64)}]
    converted = modelport.convert(symbol, params, to="onnx", output_dir=tmp_path / "onnx", inputs=shapes[0]).files[0]
    single = modelport.verify(symbol, converted, params, shapes=shapes, memory_budget=None)
    chunked = modelport.verify(symbol, converted, params, shapes=shapes, memory_budget=1)
    assert _rows(chunked) == _rows(single) and _first(chunked) == _first(single)
    notes = [r.note for r in chunked.runs[0].comparison.rows if r.note.startswith("detections")]
    assert notes and chunked.ok == single.ok
    n = len(MXNetRunner(symbol, params).order())
    assert any(note.startswith(f"verified in {n} chunks") for note in chunked.notes), chunked.notes
