"""Activations: PReLU/LeakyReLU negative slope, softmax axis (PITFALL 12)."""
from __future__ import annotations

import numpy as np

from modelport.verify.diagnose import Hypothesis, fmt, rule


def _fit_slope(x, ref, per_channel: bool):
    """Least-squares slope of ref against x over the negative inputs, per channel (axis 1) or overall."""
    neg = x < 0
    if not per_channel:
        d = float(np.sum(x[neg] ** 2))
        return None if d == 0 else float(np.sum(x[neg] * ref[neg])) / d
    xs, rs, ns = (np.moveaxis(a, 1, 0).reshape(a.shape[1], -1) for a in (x, ref, neg))
    out = np.zeros(x.shape[1])
    for c in range(x.shape[1]):
        d = float(np.sum(xs[c][ns[c]] ** 2))
        out[c] = np.nan if d == 0 else float(np.sum(xs[c][ns[c]] * rs[c][ns[c]])) / d
    return out


@rule("PRelu")
def prelu_slope(ctx):
    x, slope = ctx.input_values()[:2]
    if x is None or slope is None or x.shape != ctx.ref.shape:
        return
    x, ref = np.asarray(x, np.float64), np.asarray(ctx.ref, np.float64)
    per_channel = x.ndim >= 2 and slope.size == x.shape[1] and slope.size > 1
    fitted = _fit_slope(x, ref, per_channel)
    if fitted is None:
        return
    if per_channel:
        fitted = np.where(np.isnan(fitted), slope.reshape(-1), fitted)
        differ = np.flatnonzero(~np.isclose(fitted, slope.reshape(-1), rtol=1e-3, atol=1e-6))
        if not differ.size:
            return
        shown = ", ".join(f"channel {c}: {fmt(fitted[c])} vs {fmt(slope.reshape(-1)[c])}" for c in differ[:3])
        more = ", ..." if differ.size > 3 else ""
        what = f"in {differ.size} of {slope.size} channels (reference vs candidate: {shown}{more})"
        change = "the slopes fitted to the reference"
        new = fitted.reshape(slope.shape).astype(np.float64)
    else:
        if np.isclose(fitted, float(np.ravel(slope)[0]), rtol=1e-3):
            return
        what = f": the reference uses {fmt(fitted)}, the candidate {fmt(np.ravel(slope)[0])}"
        change = f"slope {fmt(fitted)} instead of {fmt(np.ravel(slope)[0])}"
        new = np.full(slope.shape, fitted)
    yield Hypothesis("act_slope", change, f"PReLU negative slope differs {what}; carry the slopes over (MXNet "
                     "LeakyReLU act_type='prelu' stores them as <layer>_gamma)", inputs={1: new})


@rule("LeakyRelu")
def leaky_slope(ctx):
    x = ctx.input_values()[0]
    if x is None or x.shape != ctx.ref.shape:
        return
    alpha = float(ctx.node.attrs.get("alpha", 0.01))
    fitted = _fit_slope(np.asarray(x, np.float64), np.asarray(ctx.ref, np.float64), False)
    if fitted is None or np.isclose(fitted, alpha, rtol=1e-3):
        return
    yield Hypothesis("act_slope", f"alpha {fmt(fitted)} instead of {fmt(alpha)}",
                     f"LeakyReLU negative slope differs: the reference uses {fmt(fitted)}, the candidate {fmt(alpha)} "
                     "(MXNet LeakyReLU's default slope is 0.25, ONNX LeakyRelu's alpha 0.01)",
                     attrs={"alpha": fitted})


@rule("Softmax")
def softmax_axis(ctx):
    x = ctx.input_values()[0]
    if x is None:
        return
    axis = int(ctx.node.attrs.get("axis", -1)) % x.ndim
    for other in range(x.ndim):
        if other != axis:
            yield Hypothesis("softmax_axis", f"axis {other} instead of {axis}",
                             f"softmax over another axis: the reference normalizes over axis {other}, the candidate "
                             f"over axis {axis} (MXNet SoftmaxActivation mode='channel' is axis 1, SoftmaxOutput "
                             "the last axis of 2-D input) - PITFALL 12", attrs={"axis": other})
