"""Per-tensor metrics and the walk that finds the first divergent tensor.

A tensor matches when cosine similarity >= ``cosine_min`` and the max absolute
error <= max(rel_tol * max|reference|, abs_tol). Tensors are compared in the
reference engine's execution order, so the first failing row is the earliest
point where the two computations part.
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


@dataclass
class Comparison:
    rows: list[TensorResult] = field(default_factory=list)
    first_divergence: TensorResult | None = None
    diagnosis: str = ""
    missing: list[str] = field(default_factory=list)  # reference tensors the candidate does not have
    folded: list[tuple[str, str]] = field(default_factory=list)  # (reference tensor, the survivor it was folded into)

    @property
    def ok(self) -> bool:
        return self.first_divergence is None and bool(self.rows)

    @property
    def outputs(self) -> list[TensorResult]:
        return [r for r in self.rows if r.is_output]


def metrics(ref: np.ndarray, got: np.ndarray) -> tuple[float, float, float]:
    """(cosine, max abs error, max relative error) of two same-shaped arrays."""
    r = ref.astype(np.float64).ravel()
    g = got.astype(np.float64).ravel()
    if r.size == 0:
        return 1.0, 0.0, 0.0
    diff = np.abs(r - g)
    max_abs = float(diff.max())
    max_rel = float((diff / np.maximum(np.abs(r), 1e-12)).max())
    nr, ng = float(np.linalg.norm(r)), float(np.linalg.norm(g))
    if nr == 0.0 and ng == 0.0:
        cosine = 1.0
    elif nr == 0.0 or ng == 0.0:
        cosine = 0.0
    else:
        cosine = float(r @ g / (nr * ng))
    return cosine, max_abs, max_rel


def compare_one(name: str, ref: np.ndarray, got: np.ndarray, tol: Tolerance, is_output=False) -> TensorResult:
    got_view = got
    squeeze = lambda shape: tuple(d for d in shape if d != 1)  # noqa: E731
    if got.ndim != ref.ndim and squeeze(ref.shape) == squeeze(got.shape):
        got_view = got.reshape(ref.shape)  # a runtime without batch axis: (N,) for (1, N), (C, H, W) for (1, C, H, W)
    if ref.shape != got_view.shape:
        return TensorResult(name, ref.shape, got.shape, float("nan"), float("inf"), float("inf"), False,
                            is_output, note=f"shape {tuple(got.shape)} != {tuple(ref.shape)}")
    cosine, max_abs, max_rel = metrics(ref, got_view)
    scale = float(np.max(np.abs(ref))) if ref.size else 0.0
    finite = bool(np.all(np.isfinite(got_view)))
    ok = finite and cosine >= tol.cosine_min and max_abs <= max(tol.rel_tol * scale, tol.abs_tol)
    note = "" if finite else "non-finite values"
    return TensorResult(name, ref.shape, got.shape, cosine, max_abs, max_rel, ok, is_output, note)


def compare(ref: dict[str, np.ndarray], got: dict[str, np.ndarray], order: list[str],
            outputs: list[str], tol: Tolerance = Tolerance(), stop_at_first: bool = False,
            absorbed: dict[str, tuple[str, str]] | None = None) -> Comparison:
    """Compare the tensors both engines have, in ``order``; mark the first divergence.

    ``absorbed`` (from the passes' provenance): an ``alias`` is compared through its
    survivor, a ``folded`` name is listed in ``folded`` rather than ``missing``.
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
        row = compare_one(name, ref[name], got[survivor], tol, name in heads)
        if survivor != name:
            row.note = row.note or f"as {survivor}"
        result.rows.append(row)
        if not row.ok and result.first_divergence is None:
            result.first_divergence = row
            if stop_at_first:
                break
    return result
