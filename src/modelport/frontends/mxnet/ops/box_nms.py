"""GluonCV's detection post-processing: _contrib_box_nms (alias
_contrib_box_non_maximum_suppression; MXNet 1.9.1, CPU kernel ``bounding_box-inl.h``),
converted to the private-domain op ``modelport:BoxNMS``.

Input data (..., N, W): rows of W >= 5 floats (6 with ``id_index``); the leading axes
(none for a rank-2 input) are B independent batches. Outputs: out, data's shape; record
(..., N, 1). MXNet's symbol API shows only ``out`` (``{name}_output0``); ``record``
(``{name}_output1``, MXNet's bookkeeping for the backward pass) can only be read from a
hand-edited JSON, and is converted too. Attributes (MXNet's defaults): overlap_thresh 0.5,
valid_thresh 0, topk -1, coord_start 2, score_index 1, id_index -1, background_id -1,
force_suppress False, in_format 'corner', out_format 'corner' ('corner' = (xmin, ymin,
xmax, ymax), 'center' = (x, y, width, height), at columns coord_start..coord_start+3).
In float32, per batch b:

1. k = N when topk < 0, else min(N, topk). When k < 1 (topk = 0) the kernel copies the
   input through unchanged (no formats converted) and record = b * N + n for every row.
2. A row is valid when score > valid_thresh and, if id_index >= 0, id != background_id
   (a float compare; with id_index >= 0 the default background_id -1 drops rows of id -1).
3. The valid rows are sorted by descending score with ``std::stable_sort`` (SortByKey on
   CPU): equal scores stay in row order. Only the first k of them take part; the rest
   are dropped (not written to the output at all).
4. Greedy NMS over those k rows in sorted order: a row that is not suppressed suppresses
   each later one whose IoU with it is > overlap_thresh (strictly), if they are of the
   same class: ``(int) id`` equal, a truncating cast (ids 1.2 and 1.7 are one class),
   checked only when id_index >= 0 and not force_suppress. IoU = i / (area_a + area_b - i)
   (NaN for 0 / 0, which suppresses nothing) with
   corner: i = max(0, min(r_a, r_b) - max(l_a, l_b)) * (the same for t, b);
           area = (r - l) * (b - t), 0 when r - l < 0 or b - t < 0;
   center: edges l = x - w / 2, r = x + w / 2 (t, b likewise) for i as above;
           area = w * h, 0 when w < 0 or h < 0.
5. out[b] = the rows kept by NMS, whole (every column), in sorted order, then rows of
   -1 in every column; record[b, j] = b * N + (the kept row's index in its batch), -1
   after the kept rows. (When no row of any batch is valid the kernel writes -1 at
   once: the same result.)
6. If in_format != out_format, every output row whose coordinate column coord_start is
   not < 0 is converted: corner -> center (l + r) / 2, (t + b) / 2, r - l, b - t; center ->
   corner x - w / 2, y - h / 2, x + w / 2, y + h / 2. A kept row whose first coordinate is
   negative (a box leaving the image on the left) keeps its input format, as in MXNet;
   the -1 rows are never converted.

``reference()`` below is this definition in numpy, checked against MXNet by the tests.
The converter refuses (naming the node and attribute) what MXNet itself rejects (W too
small, columns out of range or overlapping the coordinates), overlap_thresh < 0 (MXNet then
suppresses even boxes that do not overlap at all; ONNX's NonMaxSuppression cannot) and an
input that is not float32. With the row width unknown at conversion, the range checks that
need it are left to the runtime (a column out of range fails there: Slice comes back short).
"""
from __future__ import annotations

import numpy as np
import onnx_ir as ir

from modelport.frontends.mxnet.registry import mxnet_op
from modelport.ir.contract import PRIVATE_DOMAIN

F32 = np.float32
FORMATS = ("corner", "center")
DEFAULTS = dict(overlap_thresh=0.5, valid_thresh=0.0, topk=-1, coord_start=2, score_index=1, id_index=-1,
                background_id=-1, force_suppress=0, in_format="corner", out_format="corner")


def check_columns(width: int | None, coord_start: int, score_index: int, id_index: int) -> str | None:
    """MXNet's BoxNMSShape checks on the row width W and the column attributes: the problem, or None.
    With W unknown (None) only the checks that need no W."""
    expected = 6 if id_index >= 0 else 5
    coord_end = coord_start + 3
    if width is None:
        width = max(expected, coord_end + 1, score_index + 1, id_index + 1)
    if width < expected:
        return f"the last axis has {width} values; at least {expected} are needed (score, 4 coordinates" \
               + (", id)" if id_index >= 0 else ")")
    if not 0 <= score_index < width:
        return f"score_index {score_index} is out of range [0, {width})"
    if coord_start <= score_index <= coord_end:
        return f"score_index {score_index} is one of the coordinates ({coord_start}..{coord_end})"
    if coord_start < 0 or coord_end >= width:
        return f"coord_start {coord_start}: coordinates {coord_start}..{coord_end} are out of range [0, {width})"
    if id_index >= 0:
        if id_index >= width:
            return f"id_index {id_index} is out of range [0, {width})"
        if coord_start <= id_index <= coord_end:
            return f"id_index {id_index} is one of the coordinates ({coord_start}..{coord_end})"
        if id_index == score_index:
            return f"id_index {id_index} is score_index too"
    return None


def _intersect(a_lo, a_hi, b_lo, b_hi):
    """One axis of MXNet's Intersect: max(0, min(hi) - max(lo)), float32."""
    w = np.minimum(a_hi, b_hi) - np.maximum(a_lo, b_lo)
    return np.where(w > 0, w, F32(0)).astype(F32)


def _edges(boxes: np.ndarray, center: bool):
    """(l, t, r, b) as the kernel's Intersect sees them."""
    if not center:
        return boxes[:, 0], boxes[:, 1], boxes[:, 2], boxes[:, 3]
    hw, hh = boxes[:, 2] / F32(2), boxes[:, 3] / F32(2)
    return boxes[:, 0] - hw, boxes[:, 1] - hh, boxes[:, 0] + hw, boxes[:, 1] + hh


def _areas(boxes: np.ndarray, center: bool) -> np.ndarray:
    """MXNet's BoxArea: w * h, 0 when w < 0 or h < 0."""
    w, h = (boxes[:, 2], boxes[:, 3]) if center else (boxes[:, 2] - boxes[:, 0], boxes[:, 3] - boxes[:, 1])
    return np.where((w < 0) | (h < 0), F32(0), w * h).astype(F32)


def _convert(rows: np.ndarray, coord_start: int, to_center: bool) -> None:
    """MXNet's corner_to_center / center_to_corner, in place, skipping rows whose first coordinate is < 0."""
    c = rows[:, coord_start:coord_start + 4]
    todo = ~(c[:, 0] < 0)
    a, b, p, q = (c[todo, i].copy() for i in range(4))
    if to_center:
        c[todo] = np.stack([(a + p) / F32(2), (b + q) / F32(2), p - a, q - b], 1)
    else:
        hw, hh = p / F32(2), q / F32(2)
        c[todo] = np.stack([a - hw, b - hh, a + hw, b + hh], 1)


def _trunc_int(ids: np.ndarray) -> np.ndarray:
    """``static_cast<int>`` of float ids (truncation toward zero)."""
    return np.trunc(ids.astype(np.float64))


def reference(data, overlap_thresh=0.5, valid_thresh=0.0, topk=-1, coord_start=2, score_index=1, id_index=-1,
              background_id=-1, force_suppress=0, in_format="corner", out_format="corner"):
    """box_nms in numpy, the module doc's definition: ``(out, record)``."""
    data = np.asarray(data, F32)
    shape = data.shape
    count, width = shape[-2], shape[-1]
    batches = int(np.prod(shape[:-2], dtype=np.int64))
    rows = data.reshape(batches, count, width)
    k = count if topk < 0 else min(count, topk)
    if k < 1:
        return data.copy(), np.arange(batches * count, dtype=F32).reshape(*shape[:-1], 1)
    center = in_format == "center"
    out = np.full((batches, count, width), -1, F32)
    record = np.full((batches, count), -1, F32)
    with np.errstate(invalid="ignore", divide="ignore"):
        for b in range(batches):
            x = rows[b]
            valid = x[:, score_index] > F32(valid_thresh)
            if id_index >= 0:
                valid &= x[:, id_index] != F32(background_id)
            index = np.flatnonzero(valid)
            cand = index[np.argsort(-x[index, score_index], kind="stable")][:k]
            boxes = x[cand, coord_start:coord_start + 4]
            l, t, r, btm = _edges(boxes, center)
            area = _areas(boxes, center)
            ids = _trunc_int(x[cand, id_index]) if id_index >= 0 and not force_suppress else None
            alive = np.ones(len(cand), bool)
            for i in range(len(cand)):
                if not alive[i]:
                    continue
                j = np.arange(i + 1, len(cand))
                inter = _intersect(l[i], r[i], l[j], r[j]) * _intersect(t[i], btm[i], t[j], btm[j])
                iou = inter / (area[i] + area[j] - inter)
                hit = alive[j] & (iou > F32(overlap_thresh))
                if ids is not None:
                    hit &= ids[j] == ids[i]
                alive[j[hit]] = False
            kept = cand[alive]
            out[b, :len(kept)] = x[kept]
            record[b, :len(kept)] = b * count + kept
            if in_format != out_format:
                _convert(out[b], coord_start, out_format == "center")
    return out.reshape(shape), record.reshape(*shape[:-1], 1)


@mxnet_op("_contrib_box_nms", "_contrib_box_non_maximum_suppression", schema="_contrib_box_nms")
def box_nms(ctx):
    """(out, record) from data (..., N, W), as one two-output modelport:BoxNMS node."""
    data = ctx.input(0)
    rank = ctx.rank(data)
    if rank is not None and rank < 2:
        ctx.fail(f"data must have rank >= 2 (..., N, W); it has rank {rank}")
    if data.dtype not in (None, ir.DataType.FLOAT):
        ctx.fail(f"data is {data.dtype.name}; only float32 is converted")
    width = ctx.dims(data)[-1] if rank else None
    attrs = dict(overlap_thresh=ctx.attrs.float("overlap_thresh"), valid_thresh=ctx.attrs.float("valid_thresh"),
                 topk=ctx.attrs.int("topk"), coord_start=ctx.attrs.int("coord_start"),
                 score_index=ctx.attrs.int("score_index"), id_index=ctx.attrs.int("id_index"),
                 background_id=ctx.attrs.int("background_id"),
                 force_suppress=int(ctx.attrs.bool("force_suppress")),
                 in_format=ctx.attrs.choice("in_format", FORMATS), out_format=ctx.attrs.choice("out_format", FORMATS))
    problem = check_columns(width, attrs["coord_start"], attrs["score_index"], attrs["id_index"])
    if problem:
        ctx.fail(problem + " (MXNet rejects this too)")
    if not attrs["overlap_thresh"] >= 0:
        ctx.fail(f"attribute 'overlap_thresh' is {attrs['overlap_thresh']}: below 0 MXNet suppresses boxes that do "
                 "not overlap at all, which ONNX's NonMaxSuppression cannot express")
    out, record = ctx.op("BoxNMS", [data], attrs, num_outputs=2, domain=PRIVATE_DOMAIN)
    out.type, record.type = ir.TensorType(ir.DataType.FLOAT), ir.TensorType(ir.DataType.FLOAT)
    if data.shape is not None:
        dims = list(data.shape.dims)
        out.shape, record.shape = ir.Shape(dims), ir.Shape(dims[:-1] + [1])
    return [out, record]
