"""verify.detections: the layouts of MXNet, ncnn and OpenCV read as the same rows, and the
comparator's verdicts on known differences (missing, extra, moved, out of order, near ties)."""
import numpy as np

from modelport.verify.compare import compare
from modelport.verify.detections import compare_detections, layout_of, rows
from modelport.verify.tolerance import Tolerance

# (id, score, xmin, ymin, xmax, ymax): three detections MXNet would write, sorted by score
DETS = np.array([[1, 0.9, 0.1, 0.1, 0.4, 0.4],
                 [0, 0.8, 0.5, 0.5, 0.9, 0.9],
                 [1, 0.7, 0.6, 0.1, 0.9, 0.3]], np.float32)
SUPPRESSED = np.array([-1, 0.85, 0.12, 0.1, 0.41, 0.4], np.float32)  # overlaps the first, same class once


def mxnet_layout(dets, anchors: int = 8, suppressed=()):
    out = np.full((1, anchors, 6), -1, np.float32)
    body = list(dets[:1]) + list(suppressed) + list(dets[1:])
    if body:
        out[0, :len(body)] = body
    return out


def ncnn_layout(dets):
    return np.concatenate([dets[:, :1] + 1, dets[:, 1:]], axis=1)


def opencv_layout(dets):
    return np.concatenate([np.zeros((len(dets), 1)), dets[:, :1] + 1, dets[:, 1:]], axis=1).reshape(1, 1, -1, 7)


def test_every_layout_reads_as_the_same_rows():
    ref = rows(mxnet_layout(DETS, suppressed=[SUPPRESSED]), "mxnet")[0]
    assert np.array_equal(ref, DETS.astype(np.float64))
    assert np.array_equal(rows(ncnn_layout(DETS), "ncnn")[0], ref)
    assert np.array_equal(rows(opencv_layout(DETS), "opencv")[0], ref)
    assert layout_of("ncnn", "DetectionOutput") == "ncnn" and layout_of("onnxruntime", "Where") is None


def test_same_detections_in_other_layouts_match():
    ref = mxnet_layout(DETS, suppressed=[SUPPRESSED])
    noisy = DETS.copy()
    noisy[:, 1:] += 3e-6
    for got, layout in ((ncnn_layout(noisy), "ncnn"), (opencv_layout(noisy), "opencv"), (mxnet_layout(noisy), "mxnet")):
        diff = compare_detections(ref, got, "mxnet", layout)
        assert diff.ok and diff.matched == 3 and 2e-6 < diff.max_abs < 4e-6, diff.summary()


def test_empty_results_match_and_a_lost_detection_is_missing():
    assert compare_detections(mxnet_layout(DETS[:0]), np.zeros((0, 6)), "mxnet", "ncnn").ok
    diff = compare_detections(mxnet_layout(DETS), ncnn_layout(DETS[:2]), "mxnet", "ncnn")
    assert not diff.ok and [r[1] for _, r in diff.missing] == [DETS[2, 1]] and not diff.extra
    assert "1 missing: class 1 score 0.7" in diff.summary()


def test_extra_wrong_class_moved_and_order_are_divergences():
    extra = np.concatenate([DETS, [[2, 0.5, 0, 0, 0.1, 0.1]]]).astype(np.float32)
    assert [r[0] for _, r in compare_detections(mxnet_layout(DETS), ncnn_layout(extra), "mxnet", "ncnn").extra] == [2]
    wrong = DETS.copy()
    wrong[1, 0] = 2  # class shifted: the row is missing and another is extra
    diff = compare_detections(mxnet_layout(DETS), ncnn_layout(wrong), "mxnet", "ncnn")
    assert len(diff.missing) == 1 and len(diff.extra) == 1 and not diff.ok
    moved = DETS.copy()
    moved[2, 2:] += 0.05  # a box decoded elsewhere (a variance wrong)
    diff = compare_detections(mxnet_layout(DETS), ncnn_layout(moved), "mxnet", "ncnn")
    assert len(diff.moved) == 1 and not diff.missing and not diff.ok and "1 moved" in diff.summary()
    swapped = DETS[[0, 2, 1]]
    diff = compare_detections(mxnet_layout(DETS), ncnn_layout(swapped), "mxnet", "ncnn")
    assert diff.misordered == 1 and not diff.ok


def test_rows_within_tolerance_may_come_in_either_order():
    close = DETS.copy()
    close[1, 1] = close[2, 1] + 5e-6
    diff = compare_detections(mxnet_layout(close), ncnn_layout(close[[0, 2, 1]]), "mxnet", "ncnn")
    assert diff.ok and diff.misordered == 0


def test_a_near_tie_decided_the_other_way_is_not_a_divergence():
    """The reference kept A and suppressed B (scores within 1e-6, same class, overlapping); the
    candidate kept B: B is a row the reference computed, so float noise decided, not a bug."""
    a = DETS[0]
    b = np.array([1, a[1] - 1e-6, 0.12, 0.1, 0.41, 0.4], np.float32)
    ref = mxnet_layout(DETS, suppressed=[np.concatenate([[-1], b[1:]])])
    got = np.stack([b, DETS[1], DETS[2]])
    diff = compare_detections(ref, ncnn_layout(got), "mxnet", "ncnn")
    assert diff.ok and len(diff.ties) == 1 and "near tie" in diff.summary()
    # the same candidate row against a reference that never computed it: moved, a divergence
    assert not compare_detections(mxnet_layout(DETS), ncnn_layout(got), "mxnet", "ncnn").ok


def test_compare_walk_uses_the_detection_verdict():
    ref = {"det": mxnet_layout(DETS)}
    good = compare(ref, {"det": ncnn_layout(DETS)}, ["det"], ["det"], Tolerance(), detections={"det": ("mxnet", "ncnn")})
    assert good.ok and good.rows[0].note.startswith("detections: 3 detections equal")
    bad = compare(ref, {"det": ncnn_layout(DETS[:1])}, ["det"], ["det"], Tolerance(), detections={"det": ("mxnet", "ncnn")})
    assert bad.first_divergence.name == "det" and "2 missing" in bad.first_divergence.note


def test_boxes_in_pixels_get_a_proportional_allowance():
    """GluonCV's boxes are in pixels: 1e-4 of the largest coordinate, as for any other tensor."""
    pixels = DETS.copy()
    pixels[:, 2:] *= 300
    noisy = pixels.copy()
    noisy[:, 2:] += 0.01  # 3e-5 of 300
    assert not compare_detections(mxnet_layout(pixels), mxnet_layout(noisy), "mxnet", "mxnet").ok
    assert compare_detections(mxnet_layout(pixels), mxnet_layout(noisy), "mxnet", "mxnet", rel=1e-4).ok
    noisy[0, 2] += 0.5  # a box 0.5 px off is still a difference
    assert not compare_detections(mxnet_layout(pixels), mxnet_layout(noisy), "mxnet", "mxnet", rel=1e-4).ok


def test_tensors_computed_from_detections_may_hold_the_rows_in_another_order():
    """GluonCV slices its box_nms rows into ids, scores and boxes: two near-tied rows ranked the
    other way swap whole rows of each slice; the same rows in another order match, other values not."""
    from modelport.verify.detections import same_rows

    ids = DETS[None, :, :1]
    boxes = DETS[None, :, 2:]
    swapped = boxes[:, [0, 2, 1]]
    assert same_rows(boxes, swapped, 1e-6) and not same_rows(boxes, swapped + 0.01, 1e-6)
    ref = {"det": mxnet_layout(DETS), "ids": ids, "boxes": boxes}
    got = {"det": mxnet_layout(DETS), "ids": ids[:, [0, 2, 1]], "boxes": swapped}
    order = ["det", "ids", "boxes"]
    plain = compare(ref, got, order, ["ids", "boxes"], Tolerance(), detections={"det": ("mxnet", "mxnet")})
    assert plain.first_divergence.name == "ids"
    followers = {"ids": "det", "boxes": "det"}
    result = compare(ref, got, order, ["ids", "boxes"], Tolerance(), detections={"det": ("mxnet", "mxnet")},
                     row_followers=followers)
    assert result.ok and "another order" in result.rows[2].note
    got["boxes"] = swapped + 0.01
    assert compare(ref, got, order, ["ids", "boxes"], Tolerance(), detections={"det": ("mxnet", "mxnet")},
                   row_followers=followers).first_divergence.name == "boxes"


def test_verify_follows_the_graph_from_box_nms_to_its_slices(tmp_path):
    """The MXNet runner's edges: everything computed from a box_nms output follows its rows."""
    import mxnet as mx

    from modelport.runtimes.mxnet_runner import MXNetRunner
    from modelport.verify.api import _detection_layouts, _row_followers

    nms = mx.sym.contrib.box_nms(mx.sym.var("data"), name="nms", id_index=0, score_index=1, coord_start=2)
    top = mx.sym.slice_axis(nms, axis=1, begin=0, end=4, name="top")
    sym = mx.sym.Group([mx.sym.slice_axis(top, axis=2, begin=0, end=1, name="ids"),
                        mx.sym.slice_axis(top, axis=2, begin=2, end=6, name="boxes")])
    sym.save(str(tmp_path / "m-symbol.json"))
    mx.nd.save(str(tmp_path / "m-0000.params"), {})
    runner = MXNetRunner(tmp_path / "m-symbol.json", tmp_path / "m-0000.params")
    assert runner.inputs_of()["top"] == ["nms_output0"] and runner.inputs_of()["ids"] == ["top"]
    layouts = _detection_layouts(runner, runner.op_of(), runner, {})
    assert layouts["nms_output0"] == ("mxnet", "mxnet")
    assert _row_followers(runner.inputs_of(), {"nms_output0": layouts["nms_output0"]}) == {
        "top": "nms_output0", "ids": "nms_output0", "boxes": "nms_output0"}


def test_a_near_tie_among_box_nms_candidates_is_not_a_divergence():
    """box_nms keeps no suppressed rows; its input holds them: a candidate row the reference
    suppressed and the candidate kept (scores within tolerance, overlapping) is a near tie."""
    a = DETS[0]
    b = np.array([1, a[1] - 1e-6, 0.12, 0.1, 0.41, 0.4], np.float32)
    ref = mxnet_layout(DETS)
    got = mxnet_layout(np.stack([b, DETS[1], DETS[2]]))
    assert not compare_detections(ref, got, "mxnet", "mxnet").ok
    candidates = mxnet_layout(np.stack([DETS[0], b, DETS[1], DETS[2]]))
    diff = compare_detections(ref, got, "mxnet", "mxnet", candidates=candidates)
    assert diff.ok and len(diff.ties) == 1


def test_rows_scoring_alike_at_the_topk_cut_are_a_tie():
    """box_nms keeps the topk best: two rows of other classes and boxes at the last place with the
    same score, one in each engine, is noise at the cut, when the candidate's row was a candidate."""
    cut = np.array([2, 0.5, 0.7, 0.7, 0.8, 0.8], np.float32)
    other = np.array([0, 0.5, 0.1, 0.6, 0.2, 0.7], np.float32)
    ref = mxnet_layout(np.stack([DETS[0], DETS[1], DETS[2], cut]))
    got = mxnet_layout(np.stack([DETS[0], DETS[1], DETS[2], other]))
    candidates = mxnet_layout(np.stack([DETS[0], DETS[1], DETS[2], cut, other]))
    assert not compare_detections(ref, got, "mxnet", "mxnet").ok
    diff = compare_detections(ref, got, "mxnet", "mxnet", candidates=candidates)
    assert diff.ok and len(diff.ties) == 1
    high = mxnet_layout(np.stack([DETS[0], DETS[1], other]))  # above the cut: a real difference
    assert not compare_detections(mxnet_layout(DETS), high, "mxnet", "mxnet", candidates=candidates).ok


def test_box_nms_layout_follows_its_attributes():
    """box_nms's columns are its attributes' (MXNet's defaults where absent): GluonCV's are MXNet's layout."""
    from modelport.verify.detections import box_nms_layout

    assert box_nms_layout({}) == "columns:1,2,-1,corner"  # MXNet's defaults: no id column
    assert box_nms_layout({"id_index": "0", "score_index": "1", "coord_start": "2"}) == "mxnet"
    assert box_nms_layout({"score_index": "0", "coord_start": "1", "id_index": "-1"}) == "columns:0,1,-1,corner"
    assert box_nms_layout({"id_index": "0", "score_index": "1", "coord_start": "2", "out_format": "center",
                           "in_format": "center"}) == "columns:1,2,0,center"
    assert layout_of("mxnet", "_contrib_box_nms", {"score_index": "0", "coord_start": "1"}) == "columns:0,1,-1,corner"
    assert layout_of("mxnet", "_contrib_box_nms") == "mxnet" and layout_of("mxnet", "Convolution", {}) is None


RPN = np.array([[[0.9, 1, 2, 3, 4],
                 [0.8, 5, 6, 7, 8],
                 [0.3, 0, 0, 1, 1],
                 [-1, -1, -1, -1, -1],
                 [-1, -1, -1, -1, -1]]], np.float32)


def test_rpn_rows_are_class_0_and_the_all_minus_1_rows_are_dropped():
    """(score, box) rows with no id column read as class 0 (id, score, box); rows wholly -1 are not detections."""
    (got,) = rows(RPN, "columns:0,1,-1,corner")
    assert np.array_equal(got, np.array([[0, 0.9, 1, 2, 3, 4], [0, 0.8, 5, 6, 7, 8], [0, 0.3, 0, 0, 1, 1]],
                                        np.float32).astype(np.float64))
    partly = RPN.copy()
    partly[0, 3, 0] = 0.1  # a row with a score is a detection, even with -1 coordinates
    partly[0, 4] = [-0.5, 1, 1, 2, 2]  # and one with a negative score (valid_thresh below 0) and a box
    assert np.array_equal(rows(partly, "columns:0,1,-1,corner")[0][3:, :2], [[0, np.float32(0.1)], [0, -0.5]])
    ids = np.array([[[2, 0.7, 1, 1, 2, 2], [-1, -1, -1, -1, -1, -1]]], np.float32)  # (score, box, id) elsewhere
    assert np.array_equal(rows(ids[..., [1, 2, 3, 4, 5, 0]], "columns:0,1,5,corner")[0], ids[0, :1].astype(np.float64))


def test_center_boxes_read_as_corners():
    """out_format center: (x, y, w, h) becomes (x - w/2, y - h/2, x + w/2, y + h/2)."""
    center = np.array([[[0.5, 10, 20, 4, 6], [-1, -1, -1, -1, -1]]], np.float32)
    assert np.array_equal(rows(center, "columns:0,1,-1,center")[0], [[0, 0.5, 8, 17, 12, 23]])


def test_real_rpn_style_box_nms_rows_compare_as_detections(tmp_path):
    """MXNet's own box_nms with (score, box) rows: equal scores in either order match, a moved box does not."""
    import mxnet as mx

    from modelport.runtimes.mxnet_runner import MXNetRunner

    rng = np.random.default_rng(6)
    corner = rng.uniform(0, 50, (1, 24, 2))
    data = np.concatenate([rng.uniform(0.1, 1, (1, 24, 1)), corner, corner + rng.uniform(5, 20, (1, 24, 2))], axis=2)
    data[0, 5, 1:] = [200, 200, 210, 210]  # two boxes far from the rest, scoring alike
    data[0, 9, 1:] = [300, 300, 310, 310]
    data[0, [5, 9], 0] = 0.95
    nms = mx.sym.contrib.box_nms(mx.sym.var("data"), overlap_thresh=0.5, coord_start=1, score_index=0, id_index=-1,
                                 name="nms")
    nms.save(str(tmp_path / "m-symbol.json"))
    mx.nd.save(str(tmp_path / "m-0000.params"), {})
    runner = MXNetRunner(tmp_path / "m-symbol.json", tmp_path / "m-0000.params")
    layout = layout_of("mxnet", runner.op_of()["nms"], runner.node_attrs()["nms_output0"])
    assert layout == "columns:0,1,-1,corner"
    assert runner.head_names() == ["nms_output0"]
    out = runner.run({"data": data.astype(np.float32)})["nms_output0"]
    valid = ~(out[0] == -1).all(axis=1)
    assert 2 < valid.sum() < 24 and (out[0, ~valid] == -1).all()  # some suppressed: -1 rows at the end
    assert len(rows(out, layout)[0]) == valid.sum()
    tied = np.flatnonzero(out[0, :, 0] == np.float32(0.95))
    assert len(tied) == 2
    swapped = out.copy()
    swapped[0, tied] = out[0, tied[::-1]]
    assert not np.array_equal(swapped, out)
    diff = compare_detections(out, swapped, layout, layout)
    assert diff.ok and diff.matched == valid.sum(), diff.summary()
    moved = out.copy()
    moved[0, 1, 1:] += 3.0
    diff = compare_detections(out, moved, layout, layout)
    assert not diff.ok and len(diff.moved) == 1, diff.summary()
