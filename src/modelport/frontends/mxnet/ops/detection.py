"""SSD's detection head: _contrib_MultiBoxDetection (MXNet 1.9.1, CPU kernel
``multibox_detection.cc``), converted to the private-domain op ``modelport:MultiBoxDetection``.

Inputs: cls_prob (N, C, A) class probabilities with class 0 the background, loc_pred
(N, A * 4) box offsets, anchor (1, A, 4) priors (xmin, ymin, xmax, ymax). Output
(N, A, 6) rows (class id, score, xmin, ymin, xmax, ymax). Attributes (MXNet's defaults):
clip True, threshold 0.01, background_id 0, nms_threshold 0.5, force_suppress False,
variances (0.1, 0.1, 0.2, 0.2), nms_topk -1. Per image, in float32:

1. the output starts as -1 everywhere;
2. each anchor i takes its best class j >= 1 (the first of equal maxima; score starts at
   -1, so probabilities <= -1 leave it at class 0); it is valid when j >= 1 and
   score >= threshold. The row is (j - 1, score, box) with the box decoded as
   aw = r - l, ah = b - t, ax = (l + r) / 2, ay = (t + b) / 2,
   ox = px * vx * aw + ax, oy = py * vy * ah + ay, ow = exp(pw * vw) * aw / 2,
   oh = exp(ph * vh) * ah / 2, box = (ox - ow, oy - oh, ox + ow, oy + oh), each clamped to
   [0, 1] when ``clip``;
3. valid rows are packed to the front in anchor order; if there are none, or
   nms_threshold is not in (0, 1], that is the output (unsorted);
4. else the valid rows are stable-sorted by descending score, and only the first
   nkeep = min(valid, nms_topk if > 0) are kept in that order; rows nkeep..valid-1
   keep the packed (unsorted) row with class id -1;
5. greedy NMS over the nkeep rows: a row suppresses each later row (of the same class,
   or any class with ``force_suppress``) whose IoU with it is >= nms_threshold, unless it
   was suppressed itself; a suppressed row gets class id -1 and keeps its score and box.
   IoU = i / u with i the intersection area (clamped at 0) and u the sum of both areas
   minus i; 0 when u <= 0.

``background_id`` is read and ignored by MXNet's kernel (class 0 is always the
background): the converted model ignores it too. ``reference()`` below is this
definition in numpy, checked against MXNet by the tests.
"""
from __future__ import annotations

import numpy as np
import onnx_ir as ir

from modelport.frontends.mxnet.registry import mxnet_op
from modelport.ir.contract import PRIVATE_DOMAIN

F32 = np.float32
DEFAULTS = dict(clip=1, threshold=0.01, background_id=0, nms_threshold=0.5, force_suppress=0,
                variances=(0.1, 0.1, 0.2, 0.2), nms_topk=-1)


def _expf(x: np.ndarray) -> np.ndarray:
    """exp correctly rounded to float32, as the kernel's libm expf gives (numpy's float32 exp
    may be 1 ulp off)."""
    return np.exp(x.astype(np.float64)).astype(F32)


def _decode(anchors: np.ndarray, loc: np.ndarray, variances, clip: bool) -> np.ndarray:
    """(A, 4) boxes from (A, 4) anchors and offsets, in the kernel's float32 operation order."""
    vx, vy, vw, vh = (F32(v) for v in variances)
    al, at, ar, ab = anchors.T
    aw, ah = ar - al, ab - at
    ax, ay = (al + ar) / F32(2), (at + ab) / F32(2)
    px, py, pw, ph = loc.T
    ox, oy = px * vx * aw + ax, py * vy * ah + ay
    ow, oh = _expf(pw * vw) * aw / F32(2), _expf(ph * vh) * ah / F32(2)
    box = np.stack([ox - ow, oy - oh, ox + ow, oy + oh], axis=1).astype(F32)
    return np.clip(box, F32(0), F32(1)) if clip else box


def iou(a: np.ndarray, b: np.ndarray) -> F32:
    """MXNet's CalculateOverlap of two (xmin, ymin, xmax, ymax) boxes, float32."""
    w = max(F32(0), min(a[2], b[2]) - max(a[0], b[0]))
    h = max(F32(0), min(a[3], b[3]) - max(a[1], b[1]))
    i = F32(w * h)
    u = F32((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - i)
    return F32(0) if u <= 0 else F32(i / u)


def reference(cls_prob, loc_pred, anchor, clip=1, threshold=0.01, background_id=0, nms_threshold=0.5,
              force_suppress=0, variances=(0.1, 0.1, 0.2, 0.2), nms_topk=-1) -> np.ndarray:
    """MultiBoxDetection in numpy, the module doc's definition (``background_id`` ignored, as MXNet does)."""
    cls_prob, loc_pred = np.asarray(cls_prob, F32), np.asarray(loc_pred, F32)
    batch, classes, count = cls_prob.shape
    anchors = np.asarray(anchor, F32).reshape(count, 4)
    out = np.full((batch, count, 6), -1, F32)
    for n in range(batch):
        if classes > 1:
            fg = cls_prob[n, 1:]
            best = np.argmax(fg, axis=0)                      # the first of equal maxima
            score = fg[best, np.arange(count)]
            valid = (score > -1) & (score >= F32(threshold))
        else:
            best, score, valid = np.zeros(count, int), np.full(count, -1, F32), np.zeros(count, bool)
        boxes = _decode(anchors, loc_pred[n].reshape(count, 4), variances, bool(clip))
        rows = np.concatenate([best[:, None].astype(F32), score[:, None], boxes], axis=1)[valid]
        out[n, :len(rows)] = rows
        if not len(rows) or not 0 < nms_threshold <= 1:
            continue
        order = np.argsort(-rows[:, 1], kind="stable")
        keep = len(rows) if nms_topk <= 0 else min(nms_topk, len(rows))
        out[n, keep:len(rows), 0] = -1
        out[n, :keep] = rows[order[:keep]]
        top = out[n, :keep]
        for i in range(keep):
            if top[i, 0] < 0:
                continue
            for j in range(i + 1, keep):
                if top[j, 0] >= 0 and (force_suppress or top[i, 0] == top[j, 0]) \
                        and iou(top[i, 2:], top[j, 2:]) >= F32(nms_threshold):
                    top[j, 0] = -1
    return out


@mxnet_op("_contrib_MultiBoxDetection")
def multibox_detection(ctx):
    """Detections from (cls_prob, loc_pred, anchor), as one modelport:MultiBoxDetection node."""
    cls_prob, loc_pred, anchor = ctx.input(0), ctx.input(1), ctx.input(2)
    ranks = [ctx.rank(v) for v in (cls_prob, loc_pred, anchor)]
    if ranks[0] not in (None, 3) or ranks[1] not in (None, 2) or ranks[2] not in (None, 3):
        ctx.fail(f"inputs must be cls_prob (N, C, A), loc_pred (N, A*4), anchor (1, A, 4); ranks are {ranks}")
    variances = ctx.attrs.tuple("variances")
    if len(variances) != 4:
        ctx.fail(f"variances {variances} must have 4 values (MXNet checks this too)")
    attrs = dict(clip=int(ctx.attrs.bool("clip")), threshold=ctx.attrs.float("threshold"),
                 background_id=ctx.attrs.int("background_id"), nms_threshold=ctx.attrs.float("nms_threshold"),
                 force_suppress=int(ctx.attrs.bool("force_suppress")),
                 variances=[float(v) for v in variances], nms_topk=ctx.attrs.int("nms_topk"))
    out = ctx.op("MultiBoxDetection", [cls_prob, loc_pred, anchor], attrs, domain=PRIVATE_DOMAIN)
    dims = list(cls_prob.shape.dims) if ranks[0] else [None, None, None]
    out.type = ir.TensorType(ir.DataType.FLOAT)
    out.shape = ir.Shape([dims[0], dims[2], 6])
    return [out]
