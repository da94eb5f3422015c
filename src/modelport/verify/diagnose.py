"""Name the likely cause of a divergence from the known pitfalls (PITFALLS.md).

Each rule looks at the first divergent tensor (reference vs candidate values) and
the operator that produced it, and returns a sentence or None. Rules are tried in
order; the first that fires is the diagnosis.
"""
from __future__ import annotations

from collections.abc import Callable

import numpy as np

Rule = Callable[[np.ndarray, np.ndarray, str], "str | None"]
RULES: list[Rule] = []


def rule(fn: Rule) -> Rule:
    RULES.append(fn)
    return fn


@rule
def shape_off_by_one(ref, got, op):
    if ref.ndim == got.ndim and ref.ndim >= 3 and ref.shape[:2] == got.shape[:2]:
        delta = [g - r for r, g in zip(ref.shape[2:], got.shape[2:])]
        if any(delta) and all(abs(d) <= 1 for d in delta):
            return ("spatial size differs by one: pooling convention (MXNet 'valid' = floor, 'full' = ceil; "
                    "Caffe pools with ceil) - PITFALL 10/16")
    return None


@rule
def layout_permutation(ref, got, op):
    if ref.size == got.size and ref.size > 1 and ref.shape != got.shape:
        return f"shape {got.shape} vs {ref.shape}: a layout or reshape difference (NCHW vs HWC flatten order) - PITFALL 9"
    if ref.size == got.size and ref.size > 1 and np.allclose(np.sort(ref.ravel()), np.sort(got.ravel()), atol=1e-5):
        return "same values in another order: a layout permutation (e.g. C,H,W flatten order before FullyConnected) - PITFALL 9"
    return None


def _per_channel_affine(ref, got):
    if ref.ndim < 2 or ref.shape != got.shape:
        return None
    r = np.moveaxis(ref, 1, 0).reshape(ref.shape[1], -1).astype(np.float64)
    g = np.moveaxis(got, 1, 0).reshape(got.shape[1], -1).astype(np.float64)
    scales = []
    for rc, gc in zip(r, g):
        denom = float(rc @ rc)
        if denom == 0:
            continue
        scales.append(float(rc @ gc) / denom)
    return np.array(scales) if scales else None


@rule
def channel_scale(ref, got, op):
    scales = _per_channel_affine(ref, got)
    if scales is None or op not in ("BatchNormalization", "Mul", "Add", "InstanceNormalization"):
        return None
    if np.sum(np.abs(scales) < 1e-3) >= max(1, len(scales) // 4):
        return ("whole channels are (near) zero: BatchNorm gamma stored as 0 under fix_gamma=True was copied "
                "instead of using 1 - PITFALL 3")
    if np.all(np.abs(scales - 1) < 0.05):
        return "a small per-channel difference after normalization: BatchNorm eps differs (MXNet default 1e-3, Caffe 1e-5) - PITFALL 4"
    return "per-channel scale differs: BatchNorm gamma/fix_gamma or eps handling - PITFALL 3/4"


@rule
def global_affine(ref, got, op):
    r, g = ref.astype(np.float64).ravel(), got.astype(np.float64).ravel()
    if r.size < 4 or r.shape != g.shape:
        return None
    a = np.vstack([g, np.ones_like(g)]).T
    (scale, shift), *_ = np.linalg.lstsq(a, r, rcond=None)
    if np.max(np.abs(a @ [scale, shift] - r)) <= 1e-3 * max(1.0, np.max(np.abs(r))) and (abs(scale - 1) > 1e-3 or abs(shift) > 1e-3):
        return (f"reference = {scale:.6g} * candidate + {shift:.6g}: preprocessing (mean/scale) applied on one "
                "side only - PITFALL 6")
    return None


def diagnose(ref: np.ndarray, got: np.ndarray, op: str = "") -> str:
    for fn in RULES:
        message = fn(ref, got, op)
        if message:
            return message
    if op:
        return f"the values produced by {op} differ; build a one-op model of it to isolate the mismatch - PITFALL 24"
    return "values differ; compare the weights of this layer (modelport inspect) - PITFALL 25"
