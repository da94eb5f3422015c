"""GluonCV-style detectors end to end, MXNet -> ONNX, without GluonCV: the tiny YOLOv3 and SSD of
tests/gluoncv_style.py (GluonCV's exported post-processing, op for op, on a few small convs)
convert once with free input sizes and verify against MXNet at two sizes (box_nms rows compared
as detections, the ids / scores / bboxes slices after it cell by cell or as the same rows
reordered); MXNet really detects something on them; a converted file with one anchor or one
weight tensor off by a few percent fails verification, at the tensor the edit touches."""
import numpy as np
import pytest

import modelport
from gluoncv_style import save, ssd_params, ssd_symbol, yolo_params, yolo_symbol
from oracle import run_mxnet

SIZES = [{"data": (1, 3, 64, 64)}, {"data": (1, 3, 96, 80)}]
MODELS = {
    "yolo3": (lambda: yolo_symbol(), yolo_params),
    "yolo3-arange_like-grid": (lambda: yolo_symbol(grid="arange_like"), yolo_params),
    "ssd": (lambda: ssd_symbol(), ssd_params),
    "ssd-split-decoder": (lambda: ssd_symbol(decoder="split"), ssd_params),
}
OUTPUTS = ["ids", "scores", "bboxes"]


@pytest.fixture(scope="module", params=list(MODELS))
def model(request, tmp_path_factory):
    """(name, symbol, args, aux, symbol file, params file, converted .onnx), converted once."""
    build, make_params = MODELS[request.param]
    sym = build()
    args, aux = make_params(sym)
    folder = tmp_path_factory.mktemp(request.param)
    symbol_file, params_file = save(folder, "model", sym, args, aux)
    result = modelport.convert(symbol_file, params_file, to="onnx", output_dir=folder / "onnx", inputs=SIZES[0])
    assert result.warnings == []
    return request.param, sym, args, aux, symbol_file, params_file, result.files[0]


def test_converted_model_keeps_the_sizes_free(model):
    import onnx

    *_, onnx_file = model
    proto = onnx.load(str(onnx_file))
    (data,) = [i for i in proto.graph.input if i.name == "data"]
    dims = data.type.tensor_type.shape.dim
    assert len(dims) == 4 and dims[1].dim_value == 3
    assert all(d.dim_param and not d.dim_value for d in (dims[2], dims[3])), dims  # H, W symbolic
    assert [o.name for o in proto.graph.output] == OUTPUTS


def test_verifies_against_mxnet_at_two_sizes(model):
    _, _, _, _, symbol_file, params_file, onnx_file = model
    report = modelport.verify(symbol_file, onnx_file, params_file, shapes=SIZES)
    assert report.ok and [r.shapes for r in report.runs] == SIZES
    for run in report.runs:
        cmp = run.comparison
        assert cmp.first_divergence is None, (run.shapes, cmp.first_divergence, cmp.diagnosis)
        assert sorted(r.name for r in cmp.outputs) == sorted(OUTPUTS) and all(r.ok for r in cmp.outputs)
        (nms,) = [r for r in cmp.rows if r.name == "box_nms0_output0"]  # compared as detections, all found
        assert nms.note.startswith("detections: ") and " equal " in nms.note and "missing" not in nms.note, nms.note
        assert int(nms.note.split()[1]) >= 100, nms.note


@pytest.mark.parametrize("shape", SIZES, ids=lambda s: "x".join(map(str, s["data"][2:])))
def test_mxnet_detects_something(model, shape):
    """Not vacuous: MXNet's own output holds many detections of every class, boxes of many sizes,
    and box_nms suppressed some rows (the graph's NMS does work here). The 100 kept are the best of
    thousands, so the spread of the scores is checked on box_nms's input."""
    import mxnet as mx

    _, sym, args, aux, *_ = model
    image = np.random.default_rng(7).uniform(-1, 1, shape["data"]).astype(np.float32)
    nms = sym.get_internals()["box_nms0_output0"]
    before = sym.get_internals()["all_detections_output"]
    ids, scores, bboxes, kept, rows = run_mxnet(mx.sym.Group([*sym, nms, before]), args, aux, {"data": image})
    assert ids.shape == scores.shape == (1, 100, 1) and bboxes.shape == (1, 100, 4)
    valid = scores[0, :, 0] > 0.01
    assert valid.sum() > 10 and np.all(np.diff(scores[0, valid, 0]) <= 0)
    assert set(ids[0, valid, 0].astype(int)) == {0, 1, 2}
    widths = bboxes[0, valid, 2] - bboxes[0, valid, 0]
    assert widths.min() > 0 and widths.std() > 1.0
    candidates = rows[0, rows[0, :, 1] > 0.01]                  # box_nms's input: spread scores, every class
    assert len(candidates) > 400 and candidates[:, 1].std() > 0.1 and set(candidates[:, 0].astype(int)) == {0, 1, 2}
    assert 0 < int((kept[0, :, 0] >= 0).sum()) < 400           # NMS suppressed some of the top 400


def _edited(onnx_file, out, initializer: str, edit):
    import onnx
    from onnx import numpy_helper

    proto = onnx.load(str(onnx_file))
    (init,) = [i for i in proto.graph.initializer if i.name == initializer]
    value = numpy_helper.to_array(init).copy()
    edit(value)
    init.CopyFrom(numpy_helper.from_array(value.astype(np.float32), initializer))
    onnx.save(proto, str(out))
    return out


def _yolo_anchor(value):
    value[..., 0, 1] *= 1.04  # the first anchor's height (every cell of that scale) by 4 %


def _ssd_anchor(value):
    value[..., 2] *= 1.04  # the first anchor shape's width (at every position of that map) by 4 %


def _whole_tensor(value):
    value *= 1.03


TAMPER = {  # model -> [(initializer, edit, the reference tensor where the divergence must show first)]
    "yolo3": [("yolooutput1_anchor_1", _yolo_anchor, "yolooutput1_broadcast_mul0"),
              ("yolooutput0_conv_weight", _whole_tensor, "yolooutput0_conv")],
    "ssd": [("anchorgenerator0_anchor_0", _ssd_anchor, "anchorgenerator0_slice_like0"),
            ("class_pred1_weight", _whole_tensor, "class_pred1")],
}
TAMPER["yolo3-arange_like-grid"] = TAMPER["yolo3"]
TAMPER["ssd-split-decoder"] = TAMPER["ssd"]


@pytest.mark.parametrize("which", [0, 1], ids=["anchor", "weight"])
def test_a_wrong_conversion_is_caught(model, which, tmp_path):
    name, _, _, _, symbol_file, params_file, onnx_file = model
    initializer, edit, where = TAMPER[name][which]
    wrong = _edited(onnx_file, tmp_path / "wrong.onnx", initializer, edit)
    report = modelport.verify(symbol_file, wrong, params_file, shapes=SIZES[:1])
    assert not report.ok
    cmp = report.runs[0].comparison
    assert cmp.first_divergence is not None and cmp.first_divergence.name == where, cmp.first_divergence
    order = [r.name for r in cmp.rows]
    assert order.index(where) <= min(order.index(o) for o in OUTPUTS)
    assert not all(r.ok for r in cmp.outputs)  # and the detections themselves differ
