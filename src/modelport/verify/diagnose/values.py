"""Value-only rules: for candidates whose nodes cannot be inspected (no ``Runner.node_of``).

They see two arrays and an op type, no weights, no attributes, no inputs, so their
sentences are hedged ("possibly"); with node information the recomputing rules decide.
"""
from __future__ import annotations

import numpy as np

from modelport.verify.diagnose import Diagnosis


def _shape_off_by_one(ref, got, op):
    if ref.ndim == got.ndim and ref.ndim >= 3 and ref.shape[:2] == got.shape[:2]:
        delta = [g - r for r, g in zip(ref.shape[2:], got.shape[2:])]
        if any(delta) and all(abs(d) <= 1 for d in delta):
            return ("pool_ceil_floor", "spatial size differs by one: possibly the pooling convention (MXNet 'valid' = "
                    "floor, 'full' = ceil; Caffe pools with ceil) - PITFALL 10/16")
    return None


def _permutation(ref, got, op):
    if ref.size == got.size and ref.size > 1 and ref.shape != got.shape:
        squeeze = lambda s: tuple(d for d in s if d != 1)  # noqa: E731
        if squeeze(ref.shape) != squeeze(got.shape):
            return ("layout_flatten", f"shape {got.shape} vs {ref.shape}: possibly a layout or reshape difference "
                    "(NCHW vs HWC flatten order) - PITFALL 9")
    if ref.size == got.size and ref.size > 1 and np.allclose(np.sort(ref.ravel()), np.sort(got.ravel()), atol=1e-5):
        return ("layout_flatten", "same values in another order: possibly a layout permutation (e.g. C,H,W flatten "
                "order before FullyConnected) - PITFALL 9")
    return None


def _channels(ref, got, op):
    if ref.ndim < 2 or ref.shape != got.shape or op not in ("BatchNormalization", "Mul", "Add", "BatchNorm", "Scale"):
        return None
    r = np.moveaxis(ref, 1, 0).reshape(ref.shape[1], -1).astype(np.float64)
    g = np.moveaxis(got, 1, 0).reshape(got.shape[1], -1).astype(np.float64)
    constant = [c for c in range(len(g)) if np.ptp(g[c]) <= 1e-6 * max(1.0, float(np.abs(r[c]).max())) < np.ptp(r[c])]
    if constant:
        return ("bn_fix_gamma", f"{len(constant)} channel(s) are constant in the candidate (gamma 0: the output is "
                "beta): possibly gamma stored as 0 under fix_gamma=True copied instead of 1 - PITFALL 3")
    return ("unknown", "per-channel values differ after normalization: possibly BatchNorm gamma/fix_gamma or eps "
            "handling - PITFALL 3/4")


RULES = [_shape_off_by_one, _permutation, _channels]


def value_diagnosis(ref: np.ndarray, got: np.ndarray, op: str = "") -> Diagnosis:
    for fn in RULES:
        found = fn(ref, got, op)
        if found:
            return Diagnosis(found[0], found[1], ["values only: the candidate's node was not inspectable"])
    if op:
        return Diagnosis("unknown", f"the values produced by {op} differ; build a one-op model of it to isolate "
                         "the mismatch - PITFALL 24")
    return Diagnosis("unknown", "values differ; compare the weights of this layer (modelport inspect) - PITFALL 25")
