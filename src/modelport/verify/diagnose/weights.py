"""Weights: a layer's weights scaled, or the parameters of some output channels different (PITFALL 25).

Conv and Gemm compute every output channel from the same inputs with that channel's
own weights: when the inputs match and only some output channels differ, those
channels' parameters differ (a Finding, from structure). A single factor between the
reference and the candidate (bias taken out) is tested by recomputation.
"""
from __future__ import annotations

import numpy as np

from modelport.verify.diagnose import REPRODUCES, Finding, Hypothesis, fmt, rule


def _bias_term(ctx, shape):
    node = ctx.node
    if node.op_type == "Conv" and len(node.inputs) > 2 and node.inputs[2]:
        b = ctx.value(node.inputs[2])
        return None if b is None else np.asarray(b, np.float64).reshape((1, -1) + (1,) * (len(shape) - 2))
    if node.op_type == "Gemm" and len(node.inputs) > 2 and node.inputs[2]:
        c = ctx.value(node.inputs[2])
        return None if c is None else float(node.attrs.get("beta", 1.0)) * np.asarray(c, np.float64)
    return 0.0


@rule("Conv", "Gemm")
def scaled(ctx):
    if ctx.got.shape != ctx.ref.shape:
        return
    bias = _bias_term(ctx, ctx.ref.shape)
    if bias is None:
        return
    r = (np.asarray(ctx.ref, np.float64) - bias).ravel()
    g = (np.asarray(ctx.got, np.float64) - bias).ravel()
    denom = float(g @ g)
    if denom == 0:
        return
    k = float(r @ g) / denom
    if abs(k - 1) < 1e-4 or k == 0:
        return
    w = ctx.value(ctx.node.inputs[1])
    yield Hypothesis("weights_scaled", f"its weights x {fmt(k)}",
                     f"the weights of '{ctx.name}' differ by a factor: the reference's are {fmt(k)} x the "
                     f"candidate's; compare the layer's weights side by side (modelport inspect) - PITFALL 25",
                     inputs={1: np.asarray(w, np.float64) * k})


@rule("Conv", "Gemm", "BatchNormalization", "PRelu")
def some_channels(ctx):
    ref, got = np.asarray(ctx.ref, np.float64), np.asarray(ctx.got, np.float64)
    if ref.shape != got.shape or ref.ndim < 2 or ref.shape[1] < 2:
        return
    scale = max(float(np.max(np.abs(ref))), 1e-12)
    per = np.abs(ref - got).max(axis=tuple(a for a in range(ref.ndim) if a != 1)) / scale
    differ = np.flatnonzero(per > REPRODUCES)
    if not 0 < differ.size < ref.shape[1]:
        return
    shown = ", ".join(map(str, differ[:8])) + (" ..." if differ.size > 8 else "")
    detail = ""
    w = ctx.value(ctx.node.inputs[1]) if len(ctx.node.inputs) > 1 else None
    if ctx.node.op_type in ("Conv", "Gemm") and w is not None:
        rows = w if ctx.node.op_type == "Conv" or ctx.node.attrs.get("transB", 0) else w.T
        zero = [c for c in differ if not np.any(rows[c])]
        if zero:
            detail = f"; the candidate's weights are all zero in {len(zero)} of them"
    param = "weights or bias" if ctx.node.op_type in ("Conv", "Gemm") else "parameters"
    yield Finding("weights_channels",
                  f"the {param} of {differ.size} of {ref.shape[1]} output channels of '{ctx.name}' differ (channels "
                  f"{shown}{detail}); the other channels and the inputs match: compare this layer's {param} per "
                  f"channel (modelport inspect) - PITFALL 25")
