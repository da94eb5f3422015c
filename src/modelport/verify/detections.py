"""Detection outputs compared as detections: rows (class id, score, box), not cells.

An SSD's detection tensor is laid out differently by each engine, and its padding and
suppressed rows mean nothing: MXNet's MultiBoxDetection (and the ONNX lowering of it) gives
(N, A, 6) rows (id, score, xmin, ymin, xmax, ymax) with id -1 for suppressed and padding
rows; ncnn's DetectionOutput gives (K, 6) rows (label, score, box) with label = id + 1
(the background counts); OpenCV's gives (1, 1, K, 7) rows (image, label, score, box).
``LAYOUTS`` says which engine's which operator writes which layout; ``rows`` turns any of
them into per-image (K, 6) arrays of (id, score, box) in the engine's order.

``compare_detections`` matches the candidate's rows to the reference's: same class id,
score and every box coordinate within the tolerance (verify: 1e-5, or 1e-4 of the largest
score / coordinate when that is more, as for every other tensor). The result names the
missing rows (the reference has them, the candidate not), the extra rows, the moved ones
(same class and score, box elsewhere), and order errors (a row ranked above one whose
score is higher by more than the tolerance; rows whose scores are within it may come in
either order). A missing and an extra row of the same class whose scores are within the
tolerance, whose boxes overlap and where the candidate's row is one the reference computed
and suppressed (MXNet's layout keeps suppressed rows with id -1) are a near tie that
float32 noise decided (which of two boxes suppresses the other): listed as ties, not as a
divergence; a decoding error cannot pass as one, its boxes are not the reference's. So is
a pair of any classes at the reference's lowest score (the topk cut): which of two rows
scoring alike there gets in is noise too, when the candidate's row is one the reference
computed and dropped. The detections match
when nothing is missing, extra, moved or out of order.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

# (engine, operator that wrote the tensor) -> layout
LAYOUTS = {
    ("mxnet", "_contrib_MultiBoxDetection"): "mxnet",
    ("mxnet", "_contrib_box_nms"): "mxnet",  # columns as its attributes say (``box_nms_layout``)
    ("mxnet", "_contrib_box_non_maximum_suppression"): "mxnet",
    ("ncnn", "DetectionOutput"): "ncnn",
    ("opencv-caffe", "DetectionOutput"): "opencv",
}
_BOX_NMS = ("_contrib_box_nms", "_contrib_box_non_maximum_suppression")


def _mxnet(array: np.ndarray) -> list[np.ndarray]:
    if array.ndim < 2 or array.shape[-1] != 6:
        raise ValueError(f"not (..., K, 6) detection rows: shape {array.shape}")
    a = np.asarray(array, np.float64).reshape(-1, array.shape[-2], 6) if array.size else np.zeros((1, 0, 6))
    return [image[image[:, 0] >= 0] for image in a]


def _ncnn(array: np.ndarray) -> list[np.ndarray]:
    a = np.asarray(array, np.float64)
    a = a.reshape(-1, 6) if a.size and a.shape[-1] == 6 else np.zeros((0, 6))
    a = a[a[:, 0] >= 1]  # an empty result is one row of -1s in some ncnn builds
    return [np.concatenate([a[:, :1] - 1, a[:, 1:]], axis=1)]


def _opencv(array: np.ndarray) -> list[np.ndarray]:
    a = np.asarray(array, np.float64).reshape(-1, 7)
    a = a[a[:, 1] >= 1]
    images = int(a[:, 0].max()) + 1 if len(a) else 1
    return [np.concatenate([a[a[:, 0] == n][:, 1:2] - 1, a[a[:, 0] == n][:, 2:]], axis=1) for n in range(images)]


def _columns(array: np.ndarray, spec: str) -> list[np.ndarray]:
    """box_nms rows whose columns its attributes place (``box_nms_layout``): valid rows are the ones
    not wholly -1 (box_nms writes -1 over every column of the rows it drops); without an id
    column every row is class 0; center boxes (x, y, w, h) become corners."""
    score, coord, ident, fmt = spec.split(",")
    score, coord, ident = int(score), int(coord), int(ident)
    if array.ndim < 2 or array.shape[-1] < max(score, coord + 3, ident) + 1:
        raise ValueError(f"not box_nms rows with columns {spec}: shape {array.shape}")
    a = np.asarray(array, np.float64).reshape(-1, array.shape[-2], array.shape[-1]) if array.size \
        else np.zeros((1, 0, array.shape[-1]))
    out = []
    for image in a:
        image = image[~(image == -1).all(axis=1)]
        box = image[:, coord:coord + 4]
        if fmt == "center":
            box = np.concatenate([box[:, :2] - box[:, 2:] / 2, box[:, :2] + box[:, 2:] / 2], axis=1)
        ids = image[:, ident:ident + 1] if ident >= 0 else np.zeros((len(image), 1))
        out.append(np.concatenate([ids, image[:, score:score + 1], box], axis=1))
    return out


READERS = {"mxnet": _mxnet, "ncnn": _ncnn, "opencv": _opencv}


def box_nms_layout(attrs: dict[str, str]) -> str:
    """The layout of a box_nms output with these (raw) attributes, MXNet's documented defaults for
    the absent ones: "mxnet" for GluonCV's (id, score, corner box) rows, else "columns:S,C,I,F"
    (score_index, coord_start, id_index, out_format)."""
    from modelport.frontends.mxnet.attrs import Attrs

    a = Attrs("_contrib_box_nms", "", attrs)
    spec = (a.int("score_index"), a.int("coord_start"), a.int("id_index"), a.str("out_format"))
    return "mxnet" if spec == (1, 2, 0, "corner") else "columns:" + ",".join(map(str, spec))


def layout_of(engine: str, op: str, attrs: dict[str, str] | None = None) -> str | None:
    layout = LAYOUTS.get((engine, op))
    if layout and engine == "mxnet" and op in _BOX_NMS and attrs is not None:
        return box_nms_layout(attrs)
    return layout


def rows(array: np.ndarray, layout: str) -> list[np.ndarray]:
    """Per image, the (K, 6) detections (id, score, xmin, ymin, xmax, ymax) in the engine's order."""
    if layout.startswith("columns:"):
        return _columns(array, layout.removeprefix("columns:"))
    return READERS[layout](array)


@dataclass
class DetectionDiff:
    matched: int = 0
    max_abs: float = 0.0  # over matched rows: score and box
    missing: list[tuple] = field(default_factory=list)   # (image, row) of the reference
    extra: list[tuple] = field(default_factory=list)     # (image, row) of the candidate
    moved: list[tuple] = field(default_factory=list)     # (image, reference row, candidate row)
    ties: list[tuple] = field(default_factory=list)      # (image, reference row, candidate row)
    misordered: int = 0

    @property
    def ok(self) -> bool:
        return not (self.missing or self.extra or self.moved or self.misordered)

    def summary(self) -> str:
        parts = [f"{self.matched} detection{'s' if self.matched != 1 else ''} equal (max |d| {self.max_abs:.2g})"]
        for label, items in (("missing", self.missing), ("extra", self.extra)):
            if items:
                parts.append(f"{len(items)} {label}: " + "; ".join(_fmt(r) for _, r in items[:3]))
        if self.moved:
            parts.append(f"{len(self.moved)} moved: " + "; ".join(f"{_fmt(a)} -> box {_box(b)}" for _, a, b in self.moved[:3]))
        if self.misordered:
            parts.append(f"{self.misordered} out of score order")
        if self.ties:
            parts.append(f"{len(self.ties)} near tie{'s' if len(self.ties) != 1 else ''} decided the other way "
                         "(scores within tolerance, overlapping boxes)")
        return ", ".join(parts)


def _box(r) -> str:
    return "(" + ", ".join(f"{v:.4g}" for v in r[2:6]) + ")"


def _fmt(r) -> str:
    return f"class {int(r[0])} score {r[1]:.4g} box {_box(r)}"


def _overlap(a, b) -> float:
    w = max(0.0, min(a[4], b[4]) - max(a[2], b[2]))
    h = max(0.0, min(a[5], b[5]) - max(a[3], b[3]))
    union = (a[4] - a[2]) * (a[5] - a[3]) + (b[4] - b[2]) * (b[5] - b[3]) - w * h
    return w * h / union if union > 0 else 0.0


def _close_to_any(table: np.ndarray, row: np.ndarray, atol) -> bool:
    return bool(len(table)) and bool((np.abs(table - row) <= atol).all(axis=1).any())


def _match_image(n: int, ref: np.ndarray, got: np.ndarray, dropped: np.ndarray, atol: float,
                 diff: DetectionDiff) -> None:
    free = np.ones(len(got), bool)
    pairs, unmatched = [], []
    for i, r in enumerate(ref):
        hits = np.flatnonzero(free & (got[:, 0] == r[0]) & (np.abs(got[:, 1:] - r[1:]) <= atol).all(axis=1)) \
            if len(got) else []
        if not len(hits):
            unmatched.append(i)
            continue
        free[hits[0]] = False
        pairs.append((i, hits[0]))
        diff.max_abs = max(diff.max_abs, float(np.abs(got[hits[0], 1:] - r[1:]).max()))
    diff.matched += len(pairs)
    extra = list(np.flatnonzero(free))
    for i in unmatched:
        r = ref[i]
        alike = [j for j in extra if got[j, 0] == r[0] and abs(got[j, 1] - r[1]) <= atol[0]]
        tie = next((j for j in alike if _overlap(r, got[j]) > 0 and _close_to_any(dropped, got[j, 1:], atol)), None)
        if tie is None and len(ref) and r[1] <= ref[:, 1].min() + atol[0]:
            # at the cut (topk / keep_top_k): of rows scoring alike there, noise decides which get in
            tie = next((j for j in extra if abs(got[j, 1] - r[1]) <= atol[0] and _close_to_any(dropped, got[j, 1:], atol)),
                       None)
        pick = tie if tie is not None else (alike[0] if alike else None)
        if pick is None:
            diff.missing.append((n, r))
            continue
        (diff.ties if tie is not None else diff.moved).append((n, r, got[pick]))
        extra.remove(pick)
    diff.extra += [(n, got[j]) for j in extra]
    in_order = [i for i, _ in sorted(pairs, key=lambda p: p[1])]  # reference rows in the candidate's order
    diff.misordered += sum(1 for a, b in zip(in_order, in_order[1:]) if b < a and ref[b, 1] > ref[a, 1] + atol[0])


def dropped_rows(array: np.ndarray, layout: str) -> list[np.ndarray]:
    """Per image, the (K, 5) (score, box) rows the engine computed and then dropped (MXNet's
    layout keeps suppressed rows with id -1); empty for layouts that do not keep them."""
    if layout != "mxnet" or not array.size:
        return []
    a = np.asarray(array, np.float64).reshape(-1, array.shape[-2], 6)
    return [image[(image[:, 0] < 0) & (image[:, 1] > -1)][:, 1:] for image in a]


def compare_detections(ref: np.ndarray, got: np.ndarray, ref_layout: str, got_layout: str,
                       atol: float = 1e-5, rel: float = 0.0, candidates: np.ndarray | None = None) -> DetectionDiff:
    """Match the candidate's detections to the reference's, image by image (see module doc).
    Scores and boxes must agree within max(atol, rel x the largest |score| / |coordinate| of the
    reference): boxes in pixels (GluonCV) get a proportionally larger allowance than boxes in
    fractions of the image (MXNet's SSD). ``candidates``: the reference's rows before NMS (the
    input of GluonCV's box_nms, MXNet's layout), whose suppressed rows a near tie may bring back
    (box_nms itself keeps none of them)."""
    ref_rows, got_rows, dropped = rows(ref, ref_layout), rows(got, got_layout), dropped_rows(ref, ref_layout)
    if candidates is not None and candidates.ndim >= 2 and candidates.shape[-1] == ref.shape[-1]:
        pool = [c[:, 1:] for c in rows(candidates, ref_layout)]
        dropped = [np.concatenate([d, p]) for d, p in zip(dropped, pool)] if dropped else pool
    stacked = np.concatenate(ref_rows) if ref_rows else np.zeros((0, 6))
    top_score = float(np.abs(stacked[:, 1]).max()) if len(stacked) else 0.0
    top_coord = float(np.abs(stacked[:, 2:]).max()) if len(stacked) else 0.0
    atol = np.array([max(atol, rel * top_score)] + [max(atol, rel * top_coord)] * 4)
    diff = DetectionDiff()
    empty = np.zeros((0, 6))
    for n in range(max(len(ref_rows), len(got_rows))):
        _match_image(n, ref_rows[n] if n < len(ref_rows) else empty, got_rows[n] if n < len(got_rows) else empty,
                     dropped[n] if n < len(dropped) else empty[:, 1:], atol, diff)
    return diff


def same_rows(ref: np.ndarray, got: np.ndarray, atol: float, limit: int = 20000, blocks: int = 64) -> bool:
    """Whether ``got`` holds ``ref``'s rows (last-axis vectors along axis -2) in some order, each
    within ``atol``, for every leading index: a tensor computed from detections whose near-tied
    rows came out in the other order. Only detection-shaped tensors, (images, rows, values) with
    at most ``limit`` rows and ``blocks`` leading indices, are tried (False otherwise): feature
    maps computed from reordered RoIs are reordered along another axis."""
    if ref.shape != got.shape or ref.ndim < 2 or ref.shape[-2] > limit or ref.size // max(ref.shape[-2] * ref.shape[-1], 1) > blocks:
        return False
    r = ref.reshape(-1, ref.shape[-2], ref.shape[-1]).astype(np.float64)
    g = got.reshape(r.shape).astype(np.float64)
    for a, b in zip(r, g):
        free = np.ones(len(b), bool)
        for row in a:
            hits = np.flatnonzero(free & (np.abs(b - row).max(axis=1) <= atol))
            if not len(hits):
                return False
            free[hits[0]] = False
    return True
