"""LowerBoxNMSPass: box_nms as standard ONNX ops, run by onnxruntime, equal to MXNet's output
bit for bit (rows, order, -1 padding, format conversion; record too), with N static and
symbolic; every attribute changes the converted output as it changes MXNet's; the onnx
target runs the lowering."""
import numpy as np
import onnx
import onnx_ir as ir
import pytest

import modelport
from box_nms_support import ATTRIBUTE_CASES, assert_same, mxnet_box_nms, rows, symbol
from modelport.passes.lower_box_nms import LowerBoxNMSPass
from oracle import convert_symbol, run_onnx


def lowered(attrs: dict, shape: tuple, dynamic: bool, record: bool = False):
    """The lone box_nms node lowered; ``dynamic``: N (and the leading axes) symbolic."""
    model = ir.from_proto(convert_symbol(symbol(record=record, **attrs), {}, {}, input_shapes={"data": shape},
                                         dynamic=False))
    if dynamic:
        (data,) = model.graph.inputs
        dims = [f"B{i}" for i in range(len(shape) - 2)] + ["N", shape[-1]]
        data.shape = ir.Shape(dims)
        for output, last in zip(model.graph.outputs, (shape[-1], 1)):
            output.shape = ir.Shape(dims[:-1] + [last])
    assert LowerBoxNMSPass()(model).modified
    proto = ir.to_proto(model)
    onnx.checker.check_model(proto, full_check=True)
    assert {n.domain for n in proto.graph.node} == {""}
    assert [o.name for o in proto.graph.output] == ["nms_output0", "nms_output1"][:1 + record]
    return proto


def check(proto, data, attrs, record: bool = False, what: str = ""):
    got = run_onnx(proto, {"data": data})
    ref = mxnet_box_nms(data, **attrs)
    assert_same(ref[0], got[0], f"out {what}")
    if record:
        assert_same(ref[1], got[1], f"record {what}")


@pytest.mark.parametrize("attrs", ATTRIBUTE_CASES, ids=str)
@pytest.mark.parametrize("dynamic", [False, True])
def test_lowered_equals_mxnet(attrs, dynamic):
    rng = np.random.default_rng(11)
    for lead in [(), (2,), (2, 3)]:
        runs = [rows(rng, lead, 40, attrs), rows(rng, lead, 40, attrs, ties=True)]
        if dynamic:  # one conversion, other box counts
            runs += [rows(rng, lead, 7, attrs, ties=True), rows(rng, lead, 71, attrs), rows(rng, lead, 1, attrs)]
        proto = lowered(attrs, runs[0].shape, dynamic)
        for data in runs:
            check(proto, data, attrs, what=f"{attrs} at {data.shape}")


@pytest.mark.parametrize("attrs", ATTRIBUTE_CASES, ids=str)
def test_record_equals_mxnet(attrs):
    rng = np.random.default_rng(12)
    proto = lowered(attrs, (2, 3, 30, 7), True, record=True)
    for n in (30, 12):
        check(proto, rows(rng, (2, 3), n, attrs, ties=True, width=7), attrs, record=True, what=f"{attrs} N={n}")


def test_lowered_random_attributes():
    rng = np.random.default_rng(5)
    for trial in range(40):
        start, score_index, id_index = [(2, 1, -1), (2, 1, 0), (1, 0, 5), (0, 5, 4)][trial % 4]
        attrs = dict(overlap_thresh=float(rng.choice([0.5, 0.3, 0.0, 1.0, 0.05, 0.75, 2.0])),
                     valid_thresh=float(rng.choice([0.0, 0.25, -1.0])), topk=int(rng.choice([-1, 0, 1, 3, 10, 1000])),
                     coord_start=start, score_index=score_index, id_index=id_index,
                     background_id=int(rng.choice([-1, 0, 2])), force_suppress=bool(rng.integers(2)),
                     in_format=str(rng.choice(["corner", "center"])), out_format=str(rng.choice(["corner", "center"])))
        lead = [(), (1,), (2,), (2, 2)][int(rng.integers(4))]
        data = rows(rng, lead, int(rng.integers(1, 50)), attrs, trial % 2 == 0)
        record = bool(trial % 3 == 0)
        proto = lowered(attrs, data.shape, bool(trial % 2), record)
        check(proto, data, attrs, record, f"{trial} {attrs}")


def test_many_classes_and_boxes():
    """Dozens of classes over hundreds of boxes in several batches: the per-class virtual batches."""
    rng = np.random.default_rng(8)
    attrs = dict(id_index=0, topk=300, overlap_thresh=0.45)
    data = rows(rng, (3,), 500, attrs)
    data[..., 0] = rng.integers(0, 40, (3, 500))
    data[..., 2:6] = (data[..., 2:6] * 4).round(1)        # crowded boxes, ties in IoU
    check(lowered(attrs, data.shape, True), data, attrs, what="40 classes")


@pytest.mark.parametrize("attrs", [{}, dict(topk=100), dict(id_index=0)], ids=str)
def test_thousands_of_equal_scores_keep_row_order(attrs):
    """onnxruntime's TopK on a long axis still gives equal scores in row order (MXNet's stable sort)."""
    rng = np.random.default_rng(9)
    data = rows(rng, (2,), 3000, attrs, ties=True)
    data[..., 1] = np.round(data[..., 1] * 2) / 2      # three score values for 6000 rows
    check(lowered(attrs, data.shape, True), data, attrs, what="3000 rows")


@pytest.mark.parametrize("attrs", [a for a in ATTRIBUTE_CASES if a and a != dict(topk=1000)], ids=str)
def test_each_attribute_changes_the_output(attrs):  # topk 1000 >= N is topk -1, as in MXNet
    """Nothing hard-coded: the attribute moves MXNet's output, and the converted model's with it."""
    data = rows(np.random.default_rng(2), (2,), 40, attrs, ties=True)
    base_attrs = {k: v for k, v in attrs.items() if k in ("coord_start", "score_index", "id_index", "in_format")}
    if base_attrs == attrs:  # a layout attribute: compare with the same rows read the default way
        base_attrs = {}
    base = run_onnx(lowered(base_attrs, data.shape, False), {"data": data})[0]
    changed = run_onnx(lowered(attrs, data.shape, False), {"data": data})[0]
    assert not np.array_equal(mxnet_box_nms(data, **base_attrs)[0], mxnet_box_nms(data, **attrs)[0])
    assert not np.array_equal(base, changed)
    assert_same(mxnet_box_nms(data, **attrs)[0], changed)


def test_degenerate_boxes_suppress_nothing():
    """A flipped box overlaps nothing in MXNet; onnxruntime would sort its corners."""
    data = np.array([[0, .9, 1, 1, 0, 0], [0, .8, 0, 0, 1, 1], [0, .7, 0, 0, 1, 1], [0, .6, 1, 1, 0, 0]], np.float32)
    out, _ = mxnet_box_nms(data)
    assert np.allclose(out[:, 1], [.9, .8, .6, -1])
    check(lowered({}, data.shape, False), data, {})


def test_onnx_target_lowers_box_nms(tmp_path):
    import mxnet as mx

    attrs = dict(id_index=0, topk=20, out_format="center")
    sym = mx.sym.contrib.box_nms(mx.sym.var("data"), name="nms", **attrs)
    sym.save(str(tmp_path / "nms-symbol.json"))
    mx.nd.save(str(tmp_path / "nms-0000.params"), {})
    result = modelport.convert(tmp_path / "nms-symbol.json", tmp_path / "nms-0000.params", to="onnx",
                               output_dir=tmp_path / "out", inputs={"data": (1, 50, 6)})
    (path,) = [p for p in result.files if str(p).endswith(".onnx")]
    proto = onnx.load(str(path))
    assert {n.domain for n in proto.graph.node} == {""}
    data = rows(np.random.default_rng(3), (1,), 50, attrs, ties=True)
    assert [o.name for o in proto.graph.output] == ["nms_output0"]
    check(proto, data, attrs)
