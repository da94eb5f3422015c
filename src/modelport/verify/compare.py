"""Per-tensor metrics and the walk that finds the first divergent tensor.

A tensor matches when its special cells match exactly and, over the other cells,
cosine similarity >= ``cosine_min`` and the max absolute error <=
max(rel_tol * max|reference|, abs_tol). Special cells are NaN, +-inf and values of
float32-max magnitude (-FLT_MAX is what a max pooling window lying wholly in padding
gives): they carry no magnitude, so they must be equal on both sides (NaN where the
reference has NaN) and are left out of the scale, the cosine and the errors. Without
that, one -FLT_MAX cell would raise the allowed error to ~3e34 and let any other
difference through. Tensors are compared in the reference engine's execution order,
so the first failing row is the earliest point where the two computations part.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from modelport.verify.tolerance import Tolerance


@dataclass
class TensorResult:
    name: str
    ref_shape: tuple
    got_shape: tuple
    cosine: float
    max_abs: float
    max_rel: float
    ok: bool
    is_output: bool = False
    note: str = ""
    decided: bool = False  # matched as a decision taken the other way (near tie, threshold), not cell by cell


@dataclass
class Comparison:
    rows: list[TensorResult] = field(default_factory=list)
    first_divergence: TensorResult | None = None
    diagnosis: str = ""  # the sentence naming the likely cause of the first divergence
    cause: str = ""  # its stable id (verify.diagnose.CAUSES), "unknown" when no cause is established
    evidence: list[str] = field(default_factory=list)  # what the diagnosis found on the way
    missing: list[str] = field(default_factory=list)  # reference tensors the candidate does not have
    folded: list[tuple[str, str]] = field(default_factory=list)  # (reference tensor, the survivor it was folded into)

    @property
    def ok(self) -> bool:
        return self.first_divergence is None and bool(self.rows)

    @property
    def outputs(self) -> list[TensorResult]:
        return [r for r in self.rows if r.is_output]


_HUGE = float(np.finfo(np.float32).max) / 2  # -FLT_MAX and +FLT_MAX (and float64 beyond) are sentinels, not values


def special(a: np.ndarray) -> np.ndarray:
    """Cells that are sentinels rather than magnitudes: NaN, +-inf, |x| >= FLT_MAX / 2 (float arrays only)."""
    if not np.issubdtype(a.dtype, np.floating):
        return np.zeros(a.shape, bool)
    return ~np.isfinite(a) | (np.abs(a) >= _HUGE)


def special_mismatches(ref: np.ndarray, got: np.ndarray) -> int:
    """How many cells are special on either side and not identical (NaN equals NaN)."""
    mask = special(ref) | special(got)
    if not mask.any():
        return 0
    r, g = ref[mask], got[mask]
    same = (r == g) | (np.isnan(r) & np.isnan(g)) if np.issubdtype(r.dtype, np.floating) else (r == g)
    return int(np.count_nonzero(~same))


_BLOCK = 1 << 23  # cells: larger arrays are measured block by block, in float64 a block at a time


def metrics(ref: np.ndarray, got: np.ndarray) -> tuple[float, float, float]:
    """(cosine, max abs error, max relative error) of two same-shaped arrays, in float64, block by
    block (``_BLOCK`` cells) so that a large tensor needs no whole float64 copy (a 400 MB float32
    tensor took ~5 GB at once): the same maxima, the cosine from summed block products."""
    ref, got = ref.ravel(), got.ravel()
    if ref.size == 0:
        return 1.0, 0.0, 0.0
    abs_max, rel_max, dot, rr, gg = [], [], 0.0, 0.0, 0.0
    for start in range(0, ref.size, _BLOCK):
        r = ref[start:start + _BLOCK].astype(np.float64)
        g = got[start:start + _BLOCK].astype(np.float64)
        diff = np.abs(r - g)
        abs_max.append(diff.max())
        rel_max.append((diff / np.maximum(np.abs(r), 1e-12)).max())
        dot, rr, gg = dot + float(r @ g), rr + float(r @ r), gg + float(g @ g)
    max_abs, max_rel = float(np.max(abs_max)), float(np.max(rel_max))  # NaN stays NaN
    nr, ng = float(np.sqrt(rr)), float(np.sqrt(gg))
    if nr == 0.0 and ng == 0.0:
        cosine = 1.0
    elif nr == 0.0 or ng == 0.0:
        cosine = 0.0
    else:
        cosine = dot / (nr * ng)
    return cosine, max_abs, max_rel


NOISE_FACTOR = 2.0  # the candidate may be this many times as far from float64 as the reference's own float32
ROUNDING_MAX = 1e-2  # a float32 result farther than this (x max|float64|) from float64 is not rounding: no excuse


def within_noise(ref: np.ndarray, got: np.ndarray, truth: np.ndarray, allowance: float, tol: Tolerance) -> str:
    """A note when ``got`` differs from ``ref`` only as float32 rounding does: ``truth`` is the
    reference engine's float64 result, and the candidate is no farther from it than
    max(allowance, NOISE_FACTOR x the reference's own float32 error), with a cosine to it at
    least the reference's own (or ``cosine_min``). The float64 run is trusted as the exact
    result only when the reference's float32 is close to it (cosine >= cosine_min, error <=
    ROUNDING_MAX x max|truth|): MXNet runs some float32 ops through oneDNN and float64 ones
    through its own kernels, which can differ in meaning (SoftmaxOutput on 4-D input). Cells
    that are NaN/inf/FLT_MAX in the float64 run are left out when they are exactly the special
    cells of the reference (which the candidate's already equal: a BatchNorm with negative
    variance gives NaN channels in every engine and precision); elsewhere such a cell means no
    excuse. Empty when it is a real difference."""
    if truth is None or truth.shape != ref.shape or got.shape != ref.shape:
        return ""
    odd = special(truth)
    if odd.any():
        if not np.array_equal(odd, special(ref)):
            return ""
        ref, got, truth = ref[~odd], got[~odd], truth[~odd]
    t = truth.astype(np.float64)
    own_cos, own_err, _ = metrics(ref, t)
    scale = float(np.max(np.abs(t))) if t.size else 0.0
    if own_cos < tol.cosine_min or own_err > ROUNDING_MAX * scale:
        return ""  # not rounding: the float64 run computes something else (MXNet's float32 CPU path may be oneDNN's)
    got_cos, got_err, _ = metrics(got, t)
    if got_err <= max(allowance, NOISE_FACTOR * own_err) and got_cos >= min(tol.cosine_min, own_cos):
        return (f"float32 noise: the reference's own float32 result is {own_err:.2g} from float64, "
                f"the candidate {got_err:.2g}")
    return ""


def compare_one(name: str, ref: np.ndarray, got: np.ndarray, tol: Tolerance, is_output=False,
                truth: np.ndarray | None = None) -> TensorResult:
    got_view = got
    squeeze = lambda shape: tuple(d for d in shape if d != 1)  # noqa: E731
    if got.ndim != ref.ndim and squeeze(ref.shape) == squeeze(got.shape):
        got_view = got.reshape(ref.shape)  # a runtime without batch axis: (N,) for (1, N), (C, H, W) for (1, C, H, W)
    if ref.shape != got_view.shape:
        return TensorResult(name, ref.shape, got.shape, float("nan"), float("inf"), float("inf"), False,
                            is_output, note=f"shape {tuple(got.shape)} != {tuple(ref.shape)}")
    mask = special(ref) | special(got_view)
    bad_special = special_mismatches(ref, got_view)
    plain_ref, plain_got = (ref, got_view) if not mask.any() else (ref[~mask], got_view[~mask])
    cosine, max_abs, max_rel = metrics(plain_ref, plain_got)
    scale = float(np.max(np.abs(plain_ref))) if plain_ref.size else 0.0  # the meaningful cells only
    allowance = max(tol.rel_tol * scale, tol.abs_tol)
    ok = not bad_special and cosine >= tol.cosine_min and max_abs <= allowance
    note = ""
    if not ok and not bad_special and truth is not None:
        note = within_noise(ref, got_view, truth, allowance, tol)
        ok = bool(note)
    if bad_special:
        note = (f"{bad_special} cell{'s' if bad_special > 1 else ''} with NaN/inf/FLT_MAX on one side "
                "or different there")
    return TensorResult(name, ref.shape, got.shape, cosine, max_abs, max_rel, ok, is_output, note)


def compare_detection_tensor(name: str, ref: np.ndarray, got: np.ndarray, layouts: tuple,
                             tol: Tolerance, is_output=False, candidates: np.ndarray | None = None) -> TensorResult:
    """A detection output compared as detections (``verify.detections``): cosine is the share
    of the reference's detections matched, max_abs the largest score/box difference among them."""
    from modelport.verify.detections import compare_detections

    try:
        diff = compare_detections(ref, got, layouts[0], layouts[1], tol.detection_atol, tol.rel_tol, candidates)
    except ValueError:  # not rows of detections after all (another width): cell by cell
        return compare_one(name, ref, got, tol, is_output)
    total = diff.matched + len(diff.missing) + len(diff.moved) + len(diff.ties)
    share = diff.matched / total if total else 1.0
    decided = diff.ok and not compare_one(name, ref, got, tol).ok  # ties or another order: not equal cell by cell
    return TensorResult(name, ref.shape, got.shape, share, diff.max_abs, float("nan"), diff.ok, is_output,
                        note="detections: " + diff.summary(), decided=decided)


def _reordered(row: TensorResult, ref: np.ndarray, got: np.ndarray, source: str, tol: Tolerance) -> None:
    """Mark ``row`` matched when ``got`` holds ``ref``'s rows in another order (see ``compare``)."""
    from modelport.verify.detections import same_rows

    scale = float(np.max(np.abs(ref))) if ref.size and not special(ref).any() else 0.0
    if not row.note and same_rows(ref, got, max(tol.rel_tol * scale, tol.abs_tol)):
        row.ok = row.decided = True
        row.note = f"the same rows in another order, as the detections of '{source}' (near-equal scores)"


def compare(ref: dict[str, np.ndarray], got: dict[str, np.ndarray], order: list[str],
            outputs: list[str], tol: Tolerance = Tolerance(), stop_at_first: bool = False,
            absorbed: dict[str, tuple[str, str]] | None = None,
            detections: dict[str, tuple[str, str]] | None = None,
            truth: dict[str, np.ndarray] | None = None,
            row_followers: dict[str, str] | None = None, explain=None) -> Comparison:
    """Compare the tensors both engines have, in ``order``; mark the first divergence.

    ``absorbed`` (from the passes' provenance): an ``alias`` is compared through its
    survivor, a ``folded`` name is listed in ``folded`` rather than ``missing``.
    ``detections``: tensors compared as detections, with the (reference, candidate) layouts and,
    optionally, the reference tensor of their candidates before NMS.
    ``truth``: the reference engine's float64 results, when it has them: a tensor off by no
    more than the reference's own float32 rounding is not a divergence (``within_noise``).
    ``row_followers``: tensors computed from a detection output (name -> that output): one
    that misses the tolerance cell by cell but holds the reference's rows in another order
    (near-tied detections ranked the other way) matches, with a note.
    ``explain(name, ref, got, survivor)``: for a tensor that misses the tolerance, a note when it is
    a decision the candidate took the other way for a reason (``verify.decisions``), else "".
    """
    result = Comparison()
    heads = set(outputs)
    seen = set()
    absorbed = absorbed or {}
    for name in order:
        if name in seen or name not in ref:
            continue
        survivor, kind = absorbed.get(name, (name, "alias"))
        if kind == "folded" and name not in got:
            result.folded.append((name, survivor))
            continue
        if survivor not in got:
            result.missing.append(name)
            continue
        seen.add(name)
        if name in (detections or {}):
            layouts = detections[name]
            before = ref.get(layouts[2]) if len(layouts) > 2 else None
            row = compare_detection_tensor(name, ref[name], got[survivor], layouts, tol, name in heads, before)
        else:
            row = compare_one(name, ref[name], got[survivor], tol, name in heads, (truth or {}).get(name))
            if not row.ok and name in (row_followers or {}):
                _reordered(row, ref[name], got[survivor], row_followers[name], tol)
            if not row.ok and explain is not None and not row.note:
                row.note = explain(name, ref, got, survivor)
                row.ok = row.decided = bool(row.note)
        if survivor != name:
            row.note = row.note or f"as {survivor}"
        result.rows.append(row)
        if not row.ok and result.first_divergence is None:
            result.first_divergence = row
            if stop_at_first:
                break
    return result


@dataclass
class Known:
    """What verify knows of the tensors besides their values, as ``compare`` takes it: names the
    passes absorbed, detection outputs with their layouts, their row followers and the
    explainer of decisions (``verify.decisions``)."""
    absorbed: dict = field(default_factory=dict)
    detections: dict = field(default_factory=dict)
    followers: dict = field(default_factory=dict)
    explain: object = None
    reads: dict = field(default_factory=dict)  # name -> other reference tensors its check reads (a decision's operands)
    edges: dict = field(default_factory=dict)  # name -> the tensors its node reads (the reference's graph)
    retry: set = field(default_factory=set)  # names a divergence of which is rerun on the candidate's inputs


def compare_rechecked(ref: dict[str, np.ndarray], got: dict[str, np.ndarray], order: list[str], outputs: list[str],
                      tol: Tolerance, stop_at_first: bool, known: Known, float64) -> Comparison:
    """``compare``; when something diverges, once more with ``float64(names)`` (the reference's
    float64 values of the failing tensors, as many as it can give) as the truth that tells
    float32 rounding from a divergence."""
    args = (tol, stop_at_first, known.absorbed, known.detections)
    result = compare(ref, got, order, outputs, *args, row_followers=known.followers, explain=known.explain)
    if result.first_divergence is not None:
        truth = float64([r.name for r in result.rows if not r.ok])
        if truth:
            result = compare(ref, got, order, outputs, *args, truth, known.followers, known.explain)
    return result
