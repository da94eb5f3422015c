"""SSD's MultiBoxDetection on the caffe target (best-class mask + DetectionOutput, run by OpenCV
dnn) against MXNet: the small mxnet-ssd style detector of ssd_support, each attribute variant,
converted at two input sizes; detections compared as rows (class id exactly, score and box
within 1e-5, descending score order). The variants DetectionOutput cannot express warn, and
refuse under the ``exact`` option."""
from __future__ import annotations

import re
import warnings

import numpy as np
import pytest
from google.protobuf import text_format

import modelport
import ssd_support
from modelport.backends.caffe import caffe_pb2
from modelport.errors import ConversionWarning, ModelportError
from oracle import run_mxnet
from ssd_support import ATTRIBUTE_CASES, save_ssd, ssd_params, ssd_symbol

SHAPES = [(1, 3, 64, 64), (1, 3, 96, 80)]
ATOL = 1e-5
# (attribute, value) pairs DetectionOutput cannot express with several foreground classes
INEXACT = {"nms_topk": lambda v: v > 0, "force_suppress": bool, "nms_threshold": lambda v: not 0 < v <= 1}
CASES = ATTRIBUTE_CASES + [dict(clip=True), dict(threshold=0.0), dict(nms_threshold=0.7, threshold=0.2)]


def inexact(attrs: dict, foreground: int = ssd_support.NUM_CLASSES) -> list[str]:
    names = [k for k, test in INEXACT.items() if k in attrs and test(attrs[k])]
    return [k for k in names if k == "nms_threshold" or foreground > 1]


def opencv_detections(prototxt, image: np.ndarray) -> np.ndarray:
    """(K, 6) rows (class id, score, box) of OpenCV's DetectionOutput top ``detection``."""
    import cv2

    net = cv2.dnn.readNetFromCaffe(str(prototxt), str(prototxt.with_suffix(".caffemodel")))
    net.setPreferableBackend(cv2.dnn.DNN_BACKEND_OPENCV)
    net.enableWinograd(False)
    net.setInput(np.ascontiguousarray(image), "data")
    out = net.forward("detection")
    rows = out.reshape(-1, 7)
    assert out.shape[:2] == (1, 1) and np.all(rows[:, 0] == 0)  # one image
    rows = rows[rows[:, 1] > 0]  # zero rows pad the output
    return np.concatenate([rows[:, 1:2] - 1, rows[:, 2:]], axis=1)


def mxnet_detections(sym, args, aux, image: np.ndarray) -> np.ndarray:
    ref = run_mxnet(sym, args, aux, {"data": image})[0][0]
    return ref[ref[:, 0] >= 0]


def assert_same_detections(ref: np.ndarray, got: np.ndarray, sort: bool = False) -> float:
    """The same rows, class ids exactly, scores and boxes within ATOL, in descending score order
    (MXNet's order; OpenCV may swap rows whose scores differ by <= ATOL). ``sort``: MXNet's rows
    are unsorted (nms_threshold outside (0, 1]): compare them sorted by descending score.
    Returns the max abs error."""
    if sort:
        ref = ref[np.argsort(-ref[:, 1], kind="stable")]
    assert len(got) == len(ref), f"{len(got)} detections, MXNet {len(ref)}"
    assert np.all(np.diff(got[:, 1]) <= 0), "OpenCV's rows are not in descending score order"
    order = np.abs(got[:, 1] - ref[:, 1])
    assert order.max(initial=0) <= ATOL, f"row {int(order.argmax())}: score out of order"
    keys = -got[:, 1].astype(np.float64)
    used = np.zeros(len(got), bool)
    err = 0.0
    for i, row in enumerate(ref):
        lo, hi = np.searchsorted(keys, [-row[1] - ATOL, -row[1] + ATOL], side="left")[0], \
            np.searchsorted(keys, -row[1] + ATOL, side="right")
        near = [j for j in range(lo, hi) if not used[j] and got[j, 0] == row[0]
                and np.abs(got[j, 1:] - row[1:]).max() <= ATOL]
        assert near, f"MXNet row {i} {row.tolist()} has no OpenCV match"
        used[near[0]] = True
        err = max(err, float(np.abs(got[near[0], 1:] - row[1:]).max()))
    return err


def convert(folder, shape, extra=None, **attrs):
    folder.mkdir(parents=True, exist_ok=True)
    symbol, params = save_ssd(folder, shape=shape, **attrs)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConversionWarning)
        result = modelport.convert(symbol, params, to="caffe", output_dir=folder / "caffe",
                                   inputs={"data": shape}, extra=extra)
    return result


def images(shape, count: int = 2):
    rng = np.random.default_rng(sum(shape))
    return [rng.uniform(-1, 1, shape).astype(np.float32) for _ in range(count)]




@pytest.mark.parametrize("shape", SHAPES, ids=lambda s: f"{s[2]}x{s[3]}")
@pytest.mark.parametrize("attrs", CASES, ids=str)
def test_detections_equal_mxnet(tmp_path, attrs, shape):
    result = convert(tmp_path, shape, **attrs)
    named = inexact(attrs)
    assert len(result.warnings) == len(named), result.warnings
    for name, message in zip(named, result.warnings):
        assert "'detection'" in message and f"{name}:" in message
    if any(k != "nms_threshold" for k in named):
        # inexpressible (warned): verify shows the difference as detections, everything before it matches
        cmp = modelport.verify(result.loaded.source, result.files[0], shapes=[{"data": shape}]).runs[0].comparison
        assert cmp.first_divergence is not None and cmp.first_divergence.name == "detection", cmp.first_divergence
        assert "extra" in cmp.first_divergence.note and all(r.ok for r in cmp.rows if r.name != "detection")
        return
    sym = ssd_symbol(**attrs)
    args, aux = ssd_params(sym, shape)
    found = 0
    for image in images(shape):
        ref = mxnet_detections(sym, args, aux, image)
        got = opencv_detections(result.files[0], image)
        assert_same_detections(ref, got, sort=bool(named))
        found += len(ref)
    assert found > 4, "too few detections to compare"


def lone_detection(folder, anchors_shape, **attrs):
    """A lone MultiBoxDetection on inputs cls_prob and loc_pred, its anchors MultiBoxPrior of an
    input used for its shape only (a constant at static shapes): MXNet symbol and Caffe files."""
    import json

    import mxnet as mx

    data = mx.sym.var("data")
    anchor = mx.sym.contrib.MultiBoxPrior(data, sizes=(0.3, 0.5), ratios=(1, 2, 0.5), name="anchors")
    sym = mx.sym.contrib.MultiBoxDetection(mx.sym.var("cls_prob"), mx.sym.var("loc_pred"), anchor,
                                           name="detection", **attrs)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "det-symbol.json").write_text(sym.tojson())
    mx.nd.save(str(folder / "det-0000.params"), {})
    count = anchors_shape[2] * anchors_shape[3] * 4
    shapes = {"cls_prob": (1, 4, count), "loc_pred": (1, count * 4), "data": anchors_shape}
    result = modelport.convert(folder / "det-symbol.json", folder / "det-0000.params", to="caffe",
                               output_dir=folder / "caffe", inputs=shapes)
    return sym, result, count


@pytest.mark.parametrize("ties", [False, True], ids=["random", "ties"])
def test_lone_detection_equal_mxnet_with_ties_and_threshold_at_a_score(tmp_path, ties):
    """The detection layer alone, both engines fed the same probabilities (no upstream rounding):
    tied probabilities (the first of equal maxima wins), a threshold equal to a score."""
    import cv2

    rng = np.random.default_rng(5)
    sym, result, count = lone_detection(tmp_path / "a", (1, 1, 5, 4))
    cls, loc, _ = ssd_support.inputs(rng, classes=4, anchors=count, ties=ties)
    feeds = {"cls_prob": cls, "loc_pred": loc, "data": np.zeros((1, 1, 5, 4), np.float32)}
    base = run_mxnet(sym, {}, {}, feeds)[0][0]
    threshold = float(np.float32(np.median(base[base[:, 0] >= 0, 1])))
    sym, result, _ = lone_detection(tmp_path / "b", (1, 1, 5, 4), threshold=threshold)
    ref = run_mxnet(sym, {}, {}, feeds)[0][0]
    ref = ref[ref[:, 0] >= 0]
    assert np.float32(threshold) in ref[:, 1] and len(ref) > 3
    net = cv2.dnn.readNetFromCaffe(str(result.files[0]), str(result.files[1]))
    for name in ("cls_prob", "loc_pred"):  # OpenCV fails when an input no layer reads is fed (data)
        net.setInput(feeds[name], name)
    rows = net.forward("detection").reshape(-1, 7)
    rows = rows[rows[:, 1] > 0]
    got = np.concatenate([rows[:, 1:2] - 1, rows[:, 2:]], axis=1)
    assert_same_detections(ref, got)


def one_foreground_class(monkeypatch):
    monkeypatch.setattr(ssd_support, "NUM_CLASSES", 1)


@pytest.mark.parametrize("attrs", [dict(nms_topk=5), dict(force_suppress=True), dict(nms_topk=20, force_suppress=True)],
                         ids=str)
def test_one_foreground_class_is_exact_for_topk_and_force_suppress(tmp_path, monkeypatch, attrs):
    one_foreground_class(monkeypatch)
    shape = SHAPES[1]
    result = convert(tmp_path, shape, extra={"exact": True}, **attrs)
    assert result.warnings == []
    sym = ssd_symbol(**attrs)
    args, aux = ssd_params(sym, shape)
    for image in images(shape):
        ref = mxnet_detections(sym, args, aux, image)
        assert len(ref) > 2 and set(ref[:, 0]) == {0}
        assert_same_detections(ref, opencv_detections(result.files[0], image))


@pytest.mark.parametrize("attrs", [a for a in CASES if inexact(a)], ids=str)
def test_inexpressible_variants_refuse_under_exact(tmp_path, attrs):
    with pytest.raises(ModelportError) as caught:
        convert(tmp_path, SHAPES[0], extra={"exact": True}, **attrs)
    message = str(caught.value)
    for name in inexact(attrs):
        assert re.search(rf"detection.*{name}:.*exact option", message), message
    assert not (tmp_path / "caffe").exists() or not any((tmp_path / "caffe").iterdir())


def test_inexpressible_variant_warns_once_naming_node_and_attribute(tmp_path):
    folder = tmp_path / "m"
    folder.mkdir()
    symbol, params = save_ssd(folder, force_suppress=True, nms_topk=7)
    with pytest.warns(ConversionWarning) as record:
        result = modelport.convert(symbol, params, to="caffe", output_dir=folder / "caffe",
                                   inputs={"data": SHAPES[0]})
    assert len(result.warnings) == 2
    assert any("'detection': force_suppress:" in w for w in result.warnings)
    assert any("'detection': nms_topk: 7 is kept per class" in w for w in result.warnings)
    assert len([r for r in record if issubclass(r.category, ConversionWarning)]) == 2


def written(result) -> caffe_pb2.LayerParameter:
    net = caffe_pb2.NetParameter()
    text_format.Parse(result.files[0].read_text(), net)
    (layer,) = [x for x in net.layer if x.type == "DetectionOutput"]
    assert layer.name == layer.top[0] == "detection"
    return layer


def test_each_attribute_changes_the_written_prototxt(tmp_path):
    base = written(convert(tmp_path / "base", SHAPES[0])).detection_output_param
    f32 = np.float32
    assert base.num_classes == ssd_support.NUM_CLASSES + 1 and base.background_label_id == 0
    assert base.share_location and base.code_type == caffe_pb2.PriorBoxParameter.CENTER_SIZE
    assert base.clip and not base.variance_encoded_in_target and base.nms_param.top_k == -1
    assert f32(base.confidence_threshold) == np.nextafter(f32(0.01), f32(-1))
    assert f32(base.nms_param.nms_threshold) == np.nextafter(f32(0.5), f32(-1))
    checks = {
        "clip": (False, lambda p: not p.clip),
        "threshold": (0.3, lambda p: f32(p.confidence_threshold) == np.nextafter(f32(0.3), f32(-1))),
        "nms_threshold": (0.3, lambda p: f32(p.nms_param.nms_threshold) == np.nextafter(f32(0.3), f32(-1))),
        "nms_topk": (5, lambda p: p.nms_param.top_k == 5),
    }
    for name, (value, check) in checks.items():
        param = written(convert(tmp_path / name, SHAPES[0], **{name: value})).detection_output_param
        assert check(param), (name, param)
        assert param != base, name
    assert written(convert(tmp_path / "off", SHAPES[0], nms_threshold=0.0)).detection_output_param \
        .nms_param.nms_threshold == 2.0
    # variances live in the priors blob: (1, 2, A*4), the anchors then the variances
    import cv2

    for variances in [(0.1, 0.1, 0.2, 0.2), (0.2, 0.15, 0.3, 0.1)]:
        result = convert(tmp_path / f"v{variances[0]}", SHAPES[0], variances=variances)
        net = cv2.dnn.readNetFromCaffe(str(result.files[0]), str(result.files[1]))
        net.setInput(np.zeros(SHAPES[0], np.float32), "data")
        priors = net.forward("detection__priors")
        assert priors.shape == (1, 2, priors.shape[2])
        assert np.array_equal(priors[0, 1].reshape(-1, 4), np.tile(np.float32(variances), (priors.shape[2] // 4, 1)))
        anchors = run_mxnet(ssd_symbol(), *ssd_params(ssd_symbol(), SHAPES[0]), {"data": np.zeros(SHAPES[0], np.float32)})[3]
        assert np.array_equal(priors[0, 0], anchors.reshape(-1))


def test_background_id_is_ignored_like_mxnet(tmp_path):
    base = written(convert(tmp_path / "a", SHAPES[0]))
    other = written(convert(tmp_path / "b", SHAPES[0], background_id=2))
    assert base == other


def test_nnie_target_refuses_clearly_or_converts(tmp_path):
    folder = tmp_path / "m"
    folder.mkdir()
    symbol, params = save_ssd(folder)
    try:
        result = modelport.convert(symbol, params, to="nnie", output_dir=folder / "nnie", inputs={"data": SHAPES[0]})
    except ModelportError as exc:
        assert "Permute" in str(exc) or "nnie" in str(exc).lower(), str(exc)
    else:
        assert result.files[0].is_file()
