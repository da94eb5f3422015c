"""SSD's MultiBoxDetection through the ncnn target (DetectionOutput fed by masking/decoding layers)
against MXNet: the small mxnet-ssd detector of ``ssd_support`` at two input sizes for every
attribute case, lone nodes on identical inputs (the op's own error), one foreground class (where
nms_topk and force_suppress are exact), the warnings and --exact refusals, and the written params.

Detections are compared as rows (class id, score, box): ncnn's (label - 1, score, box) against
MXNet's rows with id >= 0 in order; ids exactly, scores and boxes within 1e-5, and the order may
swap only between rows whose scores differ by <= 1e-5 (ncnn's quicksort is not stable)."""
from __future__ import annotations

import warnings

import mxnet as mx
import ncnn
import numpy as np
import pytest

import modelport
from modelport.errors import UnsupportedOpsError
from oracle import run_mxnet
from ssd_support import ATTRIBUTE_CASES, inputs, mxnet_detection, save_ssd, ssd_params, ssd_symbol

pytestmark = pytest.mark.filterwarnings("ignore::modelport.errors.ConversionWarning")
TOL = 1e-5
SIZES = [(1, 3, 64, 64), (1, 3, 96, 80)]
VARIANTS = []
for _case in ATTRIBUTE_CASES:
    for _clip in (True, False):
        _v = dict(_case, clip=_clip)
        if _v not in VARIANTS:
            VARIANTS.append(_v)
# what ncnn cannot express with several foreground classes (the warning names the attribute)
INEXACT = {"force_suppress": "force_suppress=1", "nms_topk": "nms_topk=5", "nms_threshold": "nms_threshold=0 "}


def inexact_attribute(attrs: dict, classes: int) -> str | None:
    if not 0 < attrs.get("nms_threshold", 0.5) <= 1:
        return "nms_threshold"
    if classes > 2 and attrs.get("force_suppress"):
        return "force_suppress"
    if classes > 2 and attrs.get("nms_topk", -1) > 0:
        return "nms_topk"
    return None


# -- running ncnn and comparing rows ------------------------------------------------------------

def run_ncnn(param, feeds: dict, output: str = "detection") -> np.ndarray:
    """ncnn's DetectionOutput rows as (id, score, box) with id = label - 1; (0, 6) when empty."""
    net = ncnn.Net()
    opt = net.opt
    opt.use_fp16_storage = opt.use_fp16_arithmetic = opt.use_fp16_packed = opt.use_bf16_storage = False
    opt.use_vulkan_compute = False
    opt.num_threads = 1
    assert net.load_param(str(param)) == 0 and net.load_model(str(param.with_suffix(".bin"))) == 0
    ex = net.create_extractor()
    keep = []
    for name, array in feeds.items():
        body = np.ascontiguousarray(np.asarray(array, np.float32)[0])
        mat = ncnn.Mat(body).clone()
        keep += [body, mat]
        assert ex.input(name, mat) == 0
    rc, mat = ex.extract(output)
    assert rc == 0
    if mat.empty():  # nothing detected: DetectionOutput leaves its top empty
        return np.zeros((0, 6), np.float32)
    rows = np.array(mat, dtype=np.float32, copy=True).reshape(-1, 6)
    rows[:, 0] -= 1
    return rows


def detected(mxnet_out: np.ndarray) -> np.ndarray:
    """MXNet's detections of image 0: the rows with class id >= 0, in order."""
    rows = mxnet_out[0]
    return rows[rows[:, 0] >= 0]


def match_rows(ref: np.ndarray, got: np.ndarray, ordered: bool = True) -> float:
    """Each MXNet row has an ncnn row of the same id with score and box within TOL; with ``ordered``,
    two rows come in the other order only when their scores are within TOL. Returns the max error."""
    assert len(got) == len(ref), f"ncnn has {len(got)} detections, MXNet {len(ref)}"
    free = np.ones(len(got), bool)
    where, worst = np.empty(len(ref), int), 0.0
    for i, row in enumerate(ref):
        err = np.abs(got[:, 1:].astype(np.float64) - row[1:]).max(axis=1)
        ok = np.flatnonzero(free & (got[:, 0] == row[0]) & (err <= TOL))
        assert len(ok), f"MXNet row {i} {row.tolist()} has no ncnn match"
        j = ok[np.argmin(err[ok])]
        free[j], where[i], worst = False, j, max(worst, float(err[j]))
    if ordered:
        assert np.all(np.diff(got[:, 1]) <= TOL), "ncnn's rows are not in descending score order"
        for i in np.flatnonzero(np.diff(where) < 0):  # a swap: adjacent MXNet rows in the other order
            a, b = where[i], where[i + 1]
            assert abs(float(ref[i, 1]) - float(ref[i + 1, 1])) <= TOL, f"rows {i}, {i + 1} swapped ({a}, {b})"
        inverted = [(i, k) for i in range(len(where)) for k in range(i + 1, min(len(where), i + 64))
                    if where[i] > where[k] and abs(float(ref[i, 1]) - float(ref[k, 1])) > TOL]
        assert not inverted, f"rows out of order: {inverted[:5]}"
    return worst


# -- the SSD detector ---------------------------------------------------------------------------

def convert(folder, sym, params, shapes: dict, exact: bool = False):
    return modelport.convert(sym, params, to="ncnn", output_dir=folder / "ncnn", inputs=shapes,
                             extra={"exact": True} if exact else None)


@pytest.mark.parametrize("shape", SIZES, ids=lambda s: f"{s[2]}x{s[3]}")
@pytest.mark.parametrize("attrs", VARIANTS, ids=lambda a: ",".join(f"{k}={v}" for k, v in a.items()))
def test_ssd_detections_equal_mxnet(tmp_path, attrs, shape):
    sym_file, params = save_ssd(tmp_path, shape, **attrs)
    result = convert(tmp_path, sym_file, params, {"data": shape})
    sym = ssd_symbol(**attrs)
    args, aux = ssd_params(sym, shape)
    image = np.random.default_rng(7).uniform(-1, 1, shape).astype(np.float32)
    ref = detected(run_mxnet(sym, args, aux, {"data": image})[0])
    got = run_ncnn(result.files[0], {"data": image})
    inexact = inexact_attribute(attrs, classes=4)
    if inexact is None:
        assert result.warnings == []
        assert len(ref) > 0
        match_rows(ref, got)
        return
    assert any("'detection'" in w and INEXACT[inexact] in w for w in result.warnings), result.warnings
    if inexact == "nms_threshold":  # the same detections, sorted by ncnn
        match_rows(ref, got, ordered=False)
    elif inexact == "nms_topk":  # MXNet's rows first, then perhaps lower-scored ones
        match_rows(ref, got[:len(ref)])


@pytest.mark.parametrize("attrs", [dict(force_suppress=True), dict(nms_topk=5), dict(nms_threshold=0.0),
                                   dict(nms_threshold=1.5)], ids=str)
def test_exact_refuses_what_ncnn_cannot_express(tmp_path, attrs):
    sym_file, params = save_ssd(tmp_path, **attrs)
    with pytest.raises(UnsupportedOpsError) as err:
        convert(tmp_path, sym_file, params, {"data": (1, 3, 64, 64)}, exact=True)
    text = str(err.value)
    assert "detection" in text and next(iter(attrs)) in text and "exact" in text
    assert not list((tmp_path / "ncnn").glob("*.param")) if (tmp_path / "ncnn").exists() else True


def test_exact_accepts_the_expressible(tmp_path):
    sym_file, params = save_ssd(tmp_path, nms_threshold=0.45, threshold=0.2, clip=False)
    result = convert(tmp_path, sym_file, params, {"data": (1, 3, 64, 64)}, exact=True)
    assert result.warnings == [] and result.files[0].is_file()


def test_warning_is_raised_once_per_node(tmp_path):
    sym_file, params = save_ssd(tmp_path, force_suppress=True, nms_topk=5)
    with warnings.catch_warnings(record=True):
        result = convert(tmp_path, sym_file, params, {"data": (1, 3, 64, 64)})
    assert len(result.warnings) == 2  # one per attribute, each once
    assert {"force_suppress=1" in w for w in result.warnings} == {True, False}


# -- lone nodes on identical inputs: the op's own error -----------------------------------------

def save_lone(folder, anchor: np.ndarray, **attrs):
    """A lone MultiBoxDetection whose anchors are a parameter (a constant after import)."""
    folder.mkdir(parents=True, exist_ok=True)
    sym = mx.sym.contrib.MultiBoxDetection(mx.sym.var("cls_prob"), mx.sym.var("loc_pred"), mx.sym.var("anchor"),
                                           name="detection", **attrs)
    sym.save(str(folder / "lone-symbol.json"))
    mx.nd.save(str(folder / "lone-0000.params"), {"arg:anchor": mx.nd.array(anchor)})
    return folder / "lone-symbol.json", folder / "lone-0000.params"


def lone(tmp_path, classes: int, anchors: int, seed: int, exact: bool = False, **attrs):
    cls, loc, anchor = inputs(np.random.default_rng(seed), classes=classes, anchors=anchors)
    sym_file, params = save_lone(tmp_path, anchor, **attrs)
    result = convert(tmp_path, sym_file, params, {"cls_prob": cls.shape, "loc_pred": loc.shape}, exact)
    ref = detected(mxnet_detection(cls, loc, anchor, **attrs))
    got = run_ncnn(result.files[0], {"cls_prob": cls, "loc_pred": loc})
    return result, ref, got


@pytest.mark.parametrize("attrs", VARIANTS, ids=lambda a: ",".join(f"{k}={v}" for k, v in a.items()))
@pytest.mark.parametrize("seed", [0, 1])
def test_lone_node_error(tmp_path, attrs, seed):
    """With MXNet's inputs: boxes equal bit for bit without clip; with clip within a rounding
    (DetectionOutput re-derives the decoded boxes from priors)."""
    result, ref, got = lone(tmp_path, 4, 300, seed, **attrs)
    inexact = inexact_attribute(attrs, 4)
    if inexact is not None:
        assert any(INEXACT[inexact] in w for w in result.warnings)
        return
    assert result.warnings == []
    err = match_rows(ref, got)
    assert err <= 2.5e-7, err  # ncnn's expf (1 ulp off at times) and, with clip, the re-derived boxes


@pytest.mark.parametrize("attrs", [dict(force_suppress=True), dict(nms_topk=5), dict(nms_topk=40),
                                   dict(force_suppress=True, nms_topk=7, clip=False)], ids=str)
def test_one_foreground_class_is_exact(tmp_path, attrs):
    """C == 2: ncnn's per-class nms_top_k and NMS are MXNet's global ones; no warning, --exact accepts."""
    for seed in range(3):
        result, ref, got = lone(tmp_path / str(seed), 2, 200, seed, exact=True, nms_threshold=0.3, **attrs)
        assert result.warnings == []
        match_rows(ref, got)


def test_nothing_detected_is_an_empty_blob(tmp_path):
    result, ref, got = lone(tmp_path, 4, 50, 0, threshold=1.5)
    assert len(ref) == 0 and got.shape == (0, 6)


def test_anchor_must_be_a_constant(tmp_path):
    sym = mx.sym.contrib.MultiBoxDetection(mx.sym.var("cls_prob"), mx.sym.var("loc_pred"), mx.sym.var("anchor"),
                                           name="detection")
    sym.save(str(tmp_path / "free-symbol.json"))
    mx.nd.save(str(tmp_path / "free-0000.params"), {})
    with pytest.raises(UnsupportedOpsError, match="anchor input 'anchor' is not a constant"):
        convert(tmp_path, tmp_path / "free-symbol.json", tmp_path / "free-0000.params",
                {"cls_prob": (1, 4, 20), "loc_pred": (1, 80), "anchor": (1, 20, 4)})


# -- every DetectionOutput param comes from the node --------------------------------------------

def detection_params(param) -> dict[str, str]:
    line = next(ln for ln in param.read_text().splitlines() if ln.startswith("DetectionOutput"))
    parts = line.split()
    assert parts[4 + int(parts[2]) + int(parts[3]) - 1] == "detection"  # the top is the node's output name
    return dict(p.split("=", 1) for p in parts if "=" in p)


def below(x: float) -> float:
    return float(np.nextafter(np.float32(x), np.float32(-np.inf)))


@pytest.mark.parametrize("attr, value, expect", [
    ("threshold", 0.3, {"4": below(0.3)}),
    ("threshold", -2.0, {"4": -1.0}),
    ("nms_threshold", 0.3, {"1": below(0.3)}),
    ("nms_threshold", 1.0, {"1": below(1.0)}),
    ("nms_threshold", 0.0, {"1": float(np.finfo(np.float32).max)}),
    ("nms_topk", 5, {"2": 5, "3": 5}),
    ("variances", (0.2, 0.15, 0.3, 0.1), {"5": 0.2, "6": 0.15, "7": 0.3, "8": 0.1}),
    ("clip", False, {}),
])
def test_params_follow_the_node(tmp_path, attr, value, expect):
    anchors = 30
    base = detection_params(lone(tmp_path / "base", 4, anchors, 0)[0].files[0])
    want = {"0": -233, "1": below(0.5), "2": anchors, "3": anchors, "4": below(0.01), "5": 0.1, "6": 0.1,
            "7": 0.2, "8": 0.2}  # MXNet's defaults: every value as a float32 ncnn reads back exactly
    assert {k: np.float32(v) for k, v in base.items()} == {k: np.float32(v) for k, v in want.items()}
    assert all(len(v) <= 15 for v in base.values())  # ncnn reads at most 15 characters of a value
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = lone(tmp_path / "changed", 4, anchors, 0, **{attr: value})[0]
    changed = detection_params(result.files[0])
    for key, want in expect.items():
        assert np.float32(changed[key]) == np.float32(want), (key, changed[key], want)
        assert changed[key] != base[key]
    assert {k for k in base if base[k] != changed[k]} == set(expect)
    text = result.files[0].read_text()
    assert ("Clip " in text) == bool({"clip": True, attr: value}["clip"])


def test_boxes_clipped_to_nothing_are_kept_as_mxnet_keeps_them(tmp_path):
    """Boxes pushed off the image clip to zero width or height; MXNet never suppresses with them
    (IoU 0 when the union is 0), while ncnn's 0 / 0 suppresses. Their max side is written just
    below their min (2^-23), which keeps them apart in ncnn's NMS."""
    rng = np.random.default_rng(3)
    cls, loc, anchor = inputs(rng, classes=2, anchors=120)
    loc[0, 0::4] += np.where(rng.uniform(size=120) < 0.5, 40.0, 0.0).astype(np.float32)  # x far off the image
    sym_file, params = save_lone(tmp_path, anchor)
    result = convert(tmp_path, sym_file, params, {"cls_prob": cls.shape, "loc_pred": loc.shape}, exact=True)
    ref = detected(mxnet_detection(cls, loc, anchor))
    assert ((ref[:, 2] == ref[:, 4]) & (ref[:, 2] == 1)).sum() > 10
    assert match_rows(ref, run_ncnn(result.files[0], {"cls_prob": cls, "loc_pred": loc})) <= 2.5e-7
