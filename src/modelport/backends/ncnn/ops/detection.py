"""modelport:MultiBoxDetection (MXNet's SSD head, semantics in ``frontends/mxnet/ops/detection.py``)
-> ncnn DetectionOutput, fed so that it gives MXNet's detections.

ncnn's DetectionOutput (``src/layer/detectionoutput.cpp``) in its mxnet-ssd mode
(``0=num_class=-233``): bottoms loc (raw, 4 per prior), conf (2-D, h = classes, w = priors,
row 0 the background), priors (2-D, h = priors, w = 4); params 1=nms_threshold 2=nms_top_k
(per class) 3=keep_top_k (after NMS, over all classes) 4=confidence_threshold 5..8=variances.
Per prior it decodes ``cx = v0 * l0 * pw + pcx``, ``w = expf(v2 * l2) * pw``, box =
``cx -+ w * 0.5`` (MXNet's float operations, in the same order) and never clips; it skips the
decode of a prior whose background score is ``>= 1 - confidence_threshold``. Per class
``c >= 1`` it takes the priors with ``score > confidence_threshold``, sorts them by descending
score (quicksort: not stable), keeps ``nms_top_k`` and runs greedy NMS suppressing at
``IoU > nms_threshold`` (IoU = inter / (area_a + area_b - inter), MXNet's formula); then all
classes are sorted again by score and cut to ``keep_top_k``. The top is ``(count, 6)`` rows
(label, score, xmin, ymin, xmax, ymax) with label = class row = MXNet's id + 1, and stays
empty when nothing is detected (MXNet pads its (A, 6) output with -1 instead).

How the node maps (every value from the node; A anchors, C classes, batch 1):

- conf: MXNet keeps only each anchor's best foreground class. With layers: ``fg`` = rows
  1..C-1 of cls_prob (Crop), ``max`` = Reduction max over them, ``notmax`` =
  Threshold(max - fg, 0) (1 where fg < max), ``fg - notmax * 1e30`` (other classes sink to
  -1e30, below any threshold), and a background row of -1e30 (MemoryData) concatenated
  first, so that the background skip never fires. Exact except where two classes tie for an
  anchor's maximum (MXNet keeps the first, here both stay), and for probabilities whose
  difference is subnormal (ncnn flushes denormals).
- confidence_threshold = max(the float32 just below ``threshold``, -1): MXNet accepts
  ``score >= threshold`` and ``score > -1``, ncnn ``score > t``.
- nms_threshold = the float32 just below it (MXNet suppresses at IoU >= t); outside (0, 1]
  MXNet neither sorts nor suppresses: FLT_MAX (no suppression), detections sorted anyway.
- nms_top_k = keep_top_k = ``nms_topk`` when > 0 (and NMS runs), else A (everything).
- variances -> 5..8.
- priors: the anchor input must be a constant (the target folds MultiBoxPrior's chain at
  static sizes); it is written as MemoryData (A, 4). With ``clip`` (ncnn does not clip) the
  boxes are decoded by layers in MXNet's operation order (offsets * variances; centres
  ``t * size + centre``; half sizes ``exp(t) * size * 0.5``; Concat; Clip 0..1) and given to
  DetectionOutput as priors with zero offsets (MemoryData): it re-derives each box as
  ``(l + r) * 0.5 -+ (r - l) * 0.5``, equal to (l, r) within a rounding (~1e-7). A side
  clipped to zero length gets its max ``SLIVER`` (2^-23) below its min (Threshold on max - min):
  ncnn's NMS computes 0 / 0 for two zero-area boxes and, built with fast math, suppresses
  (measured), where MXNet's IoU is 0; an inverted side keeps them apart (the early exit or a
  negative union), and against a real box its IoU is <= 0.

Inexact, warned (``ConversionWarning``) or refused with the ``exact`` option: with more than
one foreground class (C > 2), ``nms_topk > 0`` (global in MXNet, per class in ncnn: ncnn may
add lower-scored detections after MXNet's) and ``force_suppress`` (ncnn suppresses within a
class only); and ``nms_threshold`` outside (0, 1] (same detections, ncnn sorts them).
Unstable ordering of equal scores is not warned (the set of rows is the same).
"""
from __future__ import annotations

import numpy as np

from modelport.backends.ncnn.registry import attr, ncnn_op

F32 = np.float32
SINK = 1e30  # what a non-best class's score becomes (negated): below any threshold
FLT_MAX = float(np.finfo(F32).max)
SLIVER = 2.0 ** -23  # how far below its min a clipped-away side's max goes (1 - SLIVER is a float32)


def f32(x) -> float:
    """``x`` as float32, as the Python float with the shortest text that ncnn reads back exactly."""
    return float(str(F32(x)))


def below(x) -> float:
    """The float32 just below ``x``: ``a > below(x)`` is ``a >= x`` for float32 ``a``."""
    return f32(np.nextafter(F32(x), F32(-np.inf)))


def _params(ctx, node, classes: int, anchors: int) -> dict:
    """DetectionOutput's params from the node's attributes, warning about what ncnn cannot express."""
    name = node.outputs[0].name
    threshold = float(attr(node, "threshold", 0.01))
    nms = float(attr(node, "nms_threshold", 0.5))
    topk = int(attr(node, "nms_topk", -1))
    force = bool(attr(node, "force_suppress", 0))
    variances = [f32(v) for v in attr(node, "variances", (0.1, 0.1, 0.2, 0.2))]
    if len(variances) != 4:
        ctx.refuse(f"variances {variances} must have 4 values")
    nms_runs = 0 < F32(nms) <= 1
    inexact = []
    if not nms_runs:
        inexact.append(f"nms_threshold={nms:g} is outside (0, 1], where MXNet neither sorts nor suppresses "
                       "(detections in anchor order); ncnn's DetectionOutput sorts them by descending score "
                       "(the same detections, in another order)")
    if nms_runs and topk > 0 and classes > 2:
        inexact.append(f"nms_topk={topk} keeps MXNet's {topk} best detections over all classes before NMS; "
                       f"ncnn's DetectionOutput keeps {topk} per class (nms_top_k) and {topk} after NMS "
                       "(keep_top_k): ncnn may add lower-scored detections after MXNet's")
    if nms_runs and force and classes > 2:
        inexact.append("force_suppress=1 suppresses overlapping boxes of any class in MXNet; ncnn's "
                       "DetectionOutput suppresses within a class only: ncnn may keep boxes MXNet suppresses")
    if inexact:
        ctx.inexact([f"node '{name}': {m}" for m in inexact])
    limit = topk if nms_runs and topk > 0 else anchors
    return {0: -233, 1: below(nms) if nms_runs else FLT_MAX, 2: limit, 3: limit,
            4: max(below(threshold), -1.0), 5: variances[0], 6: variances[1], 7: variances[2], 8: variances[3]}


def _confidence(ctx, cls_blob: str, classes: int, anchors: int, out: str) -> str:
    """(C, A) scores: each anchor's best foreground class kept, every other score -1e30."""
    fg, mx, gap, notmax, sink, kept, bg, conf = (f"{out}_{s}" for s in (
        "fg", "max", "gap", "notmax", "sink", "best", "background", "conf"))
    ctx.layer("Crop", [cls_blob], [fg], {9: [1], 10: [classes], 11: [0]})
    ctx.layer("Reduction", [fg], [mx], {0: 4, 1: 0, 2: 1.0, 3: [0], 4: 1, 5: 1})
    ctx.layer("BinaryOp", [mx, fg], [gap], {0: 1, 1: 0})                     # max - fg >= 0
    ctx.layer("Threshold", [gap], [notmax], {0: 0.0})                        # 1 where fg < max
    ctx.layer("BinaryOp", [notmax], [sink], {0: 2, 1: 1, 2: SINK})
    ctx.layer("BinaryOp", [fg, sink], [kept], {0: 1, 1: 0})                  # fg, or -1e30
    ctx.memory_data(bg, np.full((1, anchors), -SINK, F32))
    ctx.layer("Concat", [bg, kept], [conf], {0: 0})
    return conf


def _clipped_priors(ctx, loc_blob: str, anchors: np.ndarray, variances: list, out: str) -> tuple[str, str]:
    """MXNet's decode + clip in layers: (zero offsets, decoded boxes as priors) for DetectionOutput.
    A side clipped to zero length gets its max moved SLIVER below its min (see module doc)."""
    count = len(anchors)
    l, t, r, b = anchors.T
    size = np.stack([r - l, b - t], 1).astype(F32)                           # aw, ah
    centre = np.stack([(l + r) / F32(2), (t + b) / F32(2)], 1).astype(F32)   # ax, ay
    n = {s: f"{out}_{s}" for s in ("offsets", "variances", "scaled", "t_xy", "t_wh", "size", "centre", "xy_scaled",
                                   "xy", "exp", "wh", "half", "lo", "hi", "box_min", "box_max", "extent", "positive",
                                   "empty", "shift", "max_shifted", "priors", "zeros")}
    ctx.layer("Reshape", [loc_blob], [n["offsets"]], {0: 4, 1: count})
    ctx.memory_data(n["variances"], np.asarray([variances], F32))
    ctx.layer("BinaryOp", [n["offsets"], n["variances"]], [n["scaled"]], {0: 2, 1: 0})  # p * v
    ctx.layer("Crop", [n["scaled"]], [n["t_xy"]], {9: [0], 10: [2], 11: [1]})
    ctx.layer("Crop", [n["scaled"]], [n["t_wh"]], {9: [2], 10: [4], 11: [1]})
    ctx.memory_data(n["size"], size)
    ctx.memory_data(n["centre"], centre)
    ctx.layer("BinaryOp", [n["t_xy"], n["size"]], [n["xy_scaled"]], {0: 2, 1: 0})        # p * v * aw
    ctx.layer("BinaryOp", [n["xy_scaled"], n["centre"]], [n["xy"]], {0: 0, 1: 0})        # ... + ax
    ctx.layer("UnaryOp", [n["t_wh"]], [n["exp"]], {0: 7})
    ctx.layer("BinaryOp", [n["exp"], n["size"]], [n["wh"]], {0: 2, 1: 0})               # exp(p * v) * aw
    ctx.layer("BinaryOp", [n["wh"]], [n["half"]], {0: 2, 1: 1, 2: 0.5})                 # / 2
    ctx.layer("BinaryOp", [n["xy"], n["half"]], [n["lo"]], {0: 1, 1: 0})
    ctx.layer("BinaryOp", [n["xy"], n["half"]], [n["hi"]], {0: 0, 1: 0})
    ctx.layer("Clip", [n["lo"]], [n["box_min"]], {0: 0.0, 1: 1.0})
    ctx.layer("Clip", [n["hi"]], [n["box_max"]], {0: 0.0, 1: 1.0})
    ctx.layer("BinaryOp", [n["box_max"], n["box_min"]], [n["extent"]], {0: 1, 1: 0})            # >= 0
    ctx.layer("Threshold", [n["extent"]], [n["positive"]], {0: 0.0})
    ctx.layer("BinaryOp", [n["positive"]], [n["empty"]], {0: 7, 1: 1, 2: 1.0})           # 1 - positive
    ctx.layer("BinaryOp", [n["empty"]], [n["shift"]], {0: 2, 1: 1, 2: SLIVER})
    ctx.layer("BinaryOp", [n["box_max"], n["shift"]], [n["max_shifted"]], {0: 1, 1: 0})
    ctx.layer("Concat", [n["box_min"], n["max_shifted"]], [n["priors"]], {0: 1})
    ctx.memory_data(n["zeros"], np.zeros(count * 4, F32))
    return n["zeros"], n["priors"]


@ncnn_op("MultiBoxDetection")
def multibox_detection(ctx, node):
    cls_prob, loc_pred, anchor = node.inputs[0], node.inputs[1], node.inputs[2]
    out = node.outputs[0].name
    shape = ctx.shape(cls_prob)
    if len(shape) != 3 or shape[0] != 1:
        ctx.refuse(f"cls_prob of shape {shape}: ncnn runs batch 1 only (blobs have no batch axis)")
    _, classes, count = shape
    if classes < 2:
        ctx.refuse("cls_prob has no foreground class")
    if ctx.shape(loc_pred) != (1, count * 4):
        ctx.refuse(f"loc_pred of shape {ctx.shape(loc_pred)}, expected (1, {count * 4})")
    anchors = ctx.const(anchor)
    if anchors is None:
        ctx.refuse(f"the anchor input '{anchor.name}' is not a constant: ncnn's DetectionOutput takes the priors "
                   "as data (convert at static input sizes, so that MultiBoxPrior folds)")
    if anchors.size != count * 4:
        ctx.refuse(f"anchor of shape {anchors.shape}, expected (1, {count}, 4)")
    anchors = np.asarray(anchors, F32).reshape(count, 4)
    params = _params(ctx, node, classes, count)
    conf = _confidence(ctx, ctx.blob(cls_prob), classes, count, out)
    if attr(node, "clip", 1):
        loc, priors = _clipped_priors(ctx, ctx.blob(loc_pred), anchors, [params[k] for k in (5, 6, 7, 8)], out)
    else:
        loc = ctx.blob(loc_pred)
        priors = ctx.blob(anchor) if ctx.const(anchor).shape == (1, count, 4) else \
            ctx.memory_data(f"{out}_anchors", anchors)
    ctx.layer("DetectionOutput", [loc, conf, priors], [out], params)
