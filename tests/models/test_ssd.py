"""SSD end to end, MXNet -> ONNX: the small mxnet-ssd style detector of ssd_support and its
MultiBoxDetection variants convert once (sizes symbolic) and verify against MXNet at two input
sizes, detections compared as rows; every MultiBoxPrior/MultiBoxDetection attribute, changed
in turn, changes the converted model's detections as it changes MXNet's."""
import numpy as np
import pytest

import modelport
from modelport.errors import VerificationError
from modelport.verify.detections import compare_detections
from oracle import run_mxnet, run_onnx
from ssd_support import ATTRIBUTE_CASES, save_ssd, ssd_params, ssd_symbol

SIZES = [{"data": (1, 3, 64, 64)}, {"data": (1, 3, 96, 80)}]


def convert(tmp_path, **attrs):
    symbol, params = save_ssd(tmp_path, **attrs)
    result = modelport.convert(symbol, params, to="onnx", output_dir=tmp_path / "onnx", inputs=SIZES[0])
    assert result.warnings == []
    return symbol, params, result.files[0]


@pytest.mark.parametrize("attrs", ATTRIBUTE_CASES, ids=str)
def test_ssd_variant_detections_equal_mxnet_at_two_sizes(tmp_path, attrs):
    symbol, params, onnx_file = convert(tmp_path, **attrs)
    report = modelport.verify(symbol, onnx_file, params, shapes=SIZES)
    assert len(report.runs) == 2
    for run in report.runs:
        cmp = run.comparison
        assert cmp is not None and cmp.first_divergence is None, (run.shapes, cmp and cmp.first_divergence)
        (det,) = [r for r in cmp.outputs if r.name == "detection"]
        assert det.note.startswith("detections: ") and " equal " in det.note and "missing" not in det.note
        assert int(det.note.split()[1]) >= (3 if attrs.get("nms_topk") else 100)  # detections found and compared


def _detections(proto_path, sym, args, aux, image):
    import onnx

    ref = run_mxnet(sym, args, aux, {"data": image})[0]
    got = run_onnx(onnx.load(str(proto_path)), {"data": image})[0]
    return ref, got


def _priors(k: int, **change) -> list:
    """PRIORS with feature map k's MultiBoxPrior attributes changed."""
    from ssd_support import PRIORS

    out = [dict(p) for p in PRIORS]
    out[k].update(change)
    return out


PRIOR_CHANGES = [dict(prior_clip=True), dict(priors=_priors(0, sizes=(0.15, 0.2))),
                 dict(priors=_priors(0, ratios=(1, 3, 1 / 3))), dict(priors=_priors(1, steps=(0.05, 0.08))),
                 dict(priors=_priors(1, offsets=(0.5, 0.5))), dict(priors=_priors(0, steps=(0.03, 0.04)))]


@pytest.mark.parametrize("change", [a for a in ATTRIBUTE_CASES if a and "background_id" not in a] + PRIOR_CHANGES,
                         ids=str)
def test_each_attribute_changes_the_converted_detections(tmp_path, change):
    """Nothing hard-coded: MXNet's detections move with the attribute, and the converted model's
    move the same way (the same detections, compared as rows)."""
    image = np.random.default_rng(3).uniform(-1, 1, SIZES[0]["data"]).astype(np.float32)
    outs = []
    for attrs in ({}, change):
        folder = tmp_path / ("changed" if attrs else "base")
        folder.mkdir()
        _, _, onnx_file = convert(folder, **attrs)
        sym = ssd_symbol(**attrs)
        args, aux = ssd_params(sym)
        outs.append(_detections(onnx_file, sym, args, aux, image))
    (ref0, got0), (ref1, got1) = outs
    assert not np.array_equal(ref0, ref1), "the attribute does not change MXNet's output on this model"
    assert not np.array_equal(got0, got1)
    diff = compare_detections(ref1, got1, "mxnet", "mxnet")
    assert diff.ok and diff.matched >= (3 if change.get("nms_topk") else 100), diff.summary()


def test_priors_follow_the_input_size(tmp_path):
    """One conversion with symbolic sizes: the anchors tensor at 96x80 equals MXNet's there."""
    symbol, params, onnx_file = convert(tmp_path)
    sym = ssd_symbol()
    args, aux = ssd_params(sym)
    image = np.random.default_rng(5).uniform(-1, 1, SIZES[1]["data"]).astype(np.float32)
    import onnx

    ref = run_mxnet(sym, args, aux, {"data": image})[3]
    got = run_onnx(onnx.load(str(onnx_file)), {"data": image})[3]
    assert ref.shape == got.shape == (1, (48 * 40 + 24 * 20) * 4, 4) and np.abs(ref - got).max() <= 1e-6


@pytest.mark.parametrize("target", ["ncnn", "caffe"])
@pytest.mark.parametrize("attrs", [{}, dict(clip=False, variances=(0.2, 0.15, 0.3, 0.1), threshold=0.3)], ids=str)
def test_ssd_verifies_in_ncnn_and_opencv_at_two_sizes(tmp_path, target, attrs):
    """The static targets convert once per size; `verify` reads ncnn's (K, 6) and OpenCV's
    (1, 1, K, 7) detection rows and matches them to MXNet's."""
    symbol, params = save_ssd(tmp_path, **attrs)
    for shape in SIZES:
        result = modelport.convert(symbol, params, to=target, output_dir=tmp_path / f"{target}{shape['data'][2]}",
                                   inputs=shape)
        assert result.warnings == []
        run = modelport.verify(symbol, result.files[0], params, shapes=[shape]).runs[0]
        assert run.comparison is not None and run.comparison.first_divergence is None, run.comparison.first_divergence
        (det,) = [r for r in run.comparison.outputs if r.name == "detection"]
        assert " equal " in det.note and int(det.note.split()[1]) >= 100 and "missing" not in det.note
        other = SIZES[1] if shape == SIZES[0] else SIZES[0]  # the priors are baked in at the conversion size
        skipped = modelport.verify(symbol, result.files[0], params, shapes=[other]).runs[0]
        assert skipped.comparison is None and "fixes other input sizes" in skipped.skipped
        with pytest.raises(VerificationError, match="fixes other input sizes"):
            modelport.verify(symbol, result.files[0], params, inputs=other)
