"""Pooling: max, avg, sum and lp (p = 1, 2, 3); 1-D, 2-D, 3-D; valid / full / same; global.

Output size per spatial axis (in = input size, k kernel, s stride, p pad), from MXNet:

- ``valid``: out = 1 + floor((in + 2p - k) / s)     -> ONNX pool, pads p/p, ceil_mode 0.
- ``full``:  out = 1 + ceil((in + 2p - k) / s)      -> ONNX pool, pads p/p, ceil_mode 1,
  but only while k > p + s - 1. MXNet has no "the last window must start inside the
  input or the left padding" rule, ONNX runtimes do (onnxruntime drops such a window):
  the two agree exactly when no window can start in the end padding, i.e. when
  (out-1)*s < in + p for every in, which holds iff k > p + s - 1. Otherwise
  ("windows in padding") the same size comes from floor mode over end padding p + s - 1,
  since floor((L + s - 1 - k)/s) = ceil((L - k)/s), written as an explicit Pad node
  (onnxruntime refuses pads >= kernel). ``valid`` with pad >= kernel (which MXNet's oneDNN
  refuses, its native kernel not) goes the same explicit way.
- ``same`` (MXNet accepts it for 1-D only, with no pad): out = ceil(in / s), windows
  start at i*s and run past the end -> floor mode with end padding k - 1, since
  floor((in - 1)/s) + 1 = ceil(in/s).

Values. max: padding never wins; a window lying wholly in padding gives -FLT_MAX in
MXNet, so the explicit Pad uses -FLT_MAX. avg: MXNet divides by the number of window
cells inside [-p, in + p) (count_include_pad; absent = True, the registration's
``kernel_defaults``) or inside [0, in) (count_include_pad=False); onnxruntime's
AveragePool with ceil_mode computes the same divisor. Without a single exact node,
count_include_pad turns the pad into real zeros (Pad) so that AveragePool with
count_include_pad=0 counts exactly the cells MXNet counts; where a window can still lie
wholly in padding, avg = window sum / window count of ones, 0 where the count is 0
(MXNet's oneDNN kernel gives 0 there; its native 3-D kernel gives NaN).
sum: the window sum over zero padding = AveragePool(Pad(x)) * prod(k) (every window is
full-size after the Pad). lp: MXNet computes (sum x^p)^(1/p) with x^1 = x (no abs) and a
signed cube root for p = 3, so p = 1 is sum pooling, p = 2 is ONNX LpPool
(x^2 = |x|^2), p = 3 is sum pooling of x^3 then sign(y) * |y|^(1/3).

``global_pool`` ignores kernel, stride and pad: GlobalMaxPool, GlobalAveragePool,
ReduceSum over the spatial axes (sum, lp 1), GlobalLpPool (lp 2).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from modelport.frontends.mxnet.ops._window import check_channel_first, spatial
from modelport.frontends.mxnet.registry import mxnet_op

_FLT_MAX = float(np.finfo(np.float32).max)


def _p_value(ctx) -> int:
    p = ctx.attrs.optional("p_value", "int")
    if p not in (1, 2, 3):
        ctx.fail(f"lp pooling needs p_value 1, 2 or 3 (MXNet's kernels), got {p}")
    return p


# -- shared pieces ---------------------------------------------------------------
def _pad(ctx, x, begin: list[int], end: list[int], value: float):
    """Explicit constant padding of the spatial axes (batch and channel untouched)."""
    if not any(begin) and not any(end):
        return x
    # constant names must differ by content: ctx.const returns an existing one by name
    pads = [0, 0, *begin, 0, 0, *end]
    pads_value = ctx.ints(pads, "pads_" + "_".join(map(str, pads)))
    fill = ctx.const(np.float32(value), "pad_lowest" if value < 0 else f"pad_{value:g}")
    return ctx.op("Pad", [x, pads_value, fill], {"mode": "constant"})


def _window_sum(ctx, x, kernel: list[int], stride: list[int]):
    """Sum of each k-window of x, no padding, floor mode: AveragePool * prod(k)."""
    avg = ctx.op("AveragePool", [x], {"kernel_shape": kernel, "strides": stride})
    return ctx.op("Mul", [avg, ctx.const(np.float32(np.prod(kernel)), f"window_size_{np.prod(kernel)}")])


def _signed_cbrt(ctx, y):
    root = ctx.op("Pow", [ctx.op("Abs", [y]), ctx.const(np.float32(1.0 / 3.0), "third")])
    return ctx.op("Mul", [ctx.op("Sign", [y]), root])


def _cube(ctx, x):
    return ctx.op("Pow", [x, ctx.const(np.float32(3.0), "three")])


# -- windowed pooling ------------------------------------------------------------
@dataclass
class _Plan:
    """How one pooling's windows fall: floor-mode begin/end padding giving MXNet's output
    size, and the symmetric pads (+ ceil_mode) of one ONNX pool node when that is exact."""
    begin: list[int]
    end: list[int]
    native: list[int] | None = None
    ceil: bool = False


def _plan(ctx, kernel, stride, pad, convention: str) -> _Plan:
    if convention == "valid":  # onnxruntime refuses pads >= kernel (MXNet's oneDNN too)
        return _Plan(pad, pad, pad if all(p < k for p, k in zip(pad, kernel)) else None)
    if convention == "full":
        end = [p + s - 1 for p, s in zip(pad, stride)]
        exact = all(k > e for k, e in zip(kernel, end))  # no window starts in the end padding
        return _Plan(pad, end, pad if exact else None, ceil=exact)
    if convention == "same":
        return _Plan([0] * len(kernel), [k - 1 for k in kernel])
    ctx.fail(f"pooling_convention '{convention}' is unknown")


def _onnx_pool(ctx, op_type, x, kernel, stride, pads, ceil=False, extra=None):
    attributes = {"kernel_shape": kernel, "strides": stride, "pads": list(pads)}
    if ceil:
        attributes["ceil_mode"] = 1
    attributes.update(extra or {})
    return ctx.op(op_type, [x], attributes)


def _max(ctx, x, kernel, stride, plan: _Plan):
    if plan.native is not None:
        return _onnx_pool(ctx, "MaxPool", x, kernel, stride, plan.native * 2, plan.ceil)
    if all(e < k for e, k in zip(plan.end, kernel)):
        return _onnx_pool(ctx, "MaxPool", x, kernel, stride, plan.begin + plan.end)
    padded = _pad(ctx, x, plan.begin, plan.end, -_FLT_MAX)
    return _onnx_pool(ctx, "MaxPool", padded, kernel, stride, [0] * 2 * len(kernel))


def _avg(ctx, x, kernel, stride, plan: _Plan):
    include = ctx.attrs.optional("count_include_pad", "bool")
    include = True if include is None else include  # an explicit 'None' behaves as absent
    if plan.native is not None:
        return _onnx_pool(ctx, "AveragePool", x, kernel, stride, plan.native * 2, plan.ceil,
                          {"count_include_pad": int(include)})
    begin, end = plan.begin, plan.end
    if include and any(begin):  # the pad counts: make it real zeros, count only real cells
        x = _pad(ctx, x, begin, begin, 0.0)
        begin, end = [0] * len(begin), [e - b for e, b in zip(end, begin)]
    if all(e < k for e, k in zip(end, kernel)):  # every window holds a counted cell
        return _onnx_pool(ctx, "AveragePool", x, kernel, stride, begin + end, extra={"count_include_pad": 0})
    return _avg_by_counts(ctx, x, kernel, stride, _Plan(begin, end))


def _avg_by_counts(ctx, x, kernel, stride, plan: _Plan):
    """Windows wholly in padding: window sum / number of cells of x in it, 0 where none."""
    total = _sum(ctx, x, kernel, stride, plan)
    ones = ctx.op("Expand", [ctx.const(np.ones(1), "one"), ctx.op("Shape", [x])])
    count = _sum(ctx, ones, kernel, stride, plan)
    return ctx.op("Div", [total, ctx.op("Max", [count, ctx.const(np.float32(1.0), "one_count")])])


def _sum(ctx, x, kernel, stride, plan: _Plan):
    return _window_sum(ctx, _pad(ctx, x, plan.begin, plan.end, 0.0), kernel, stride)


def _lp(ctx, x, kernel, stride, plan: _Plan):
    p = _p_value(ctx)
    padded = _pad(ctx, x, plan.begin, plan.end, 0.0)
    if p == 2:
        return ctx.op("LpPool", [padded], {"kernel_shape": kernel, "strides": stride, "p": 2})
    if p == 1:
        return _window_sum(ctx, padded, kernel, stride)
    return _signed_cbrt(ctx, _window_sum(ctx, _cube(ctx, padded), kernel, stride))


_WINDOWED = {"max": _max, "avg": _avg, "sum": _sum, "lp": _lp}


# -- global pooling ----------------------------------------------------------------
def _spatial_sum(ctx, x, rank: int):
    return ctx.op("ReduceSum", [x, ctx.ints(list(range(2, rank)), "axes")], {"keepdims": 1})


def _global_lp(ctx, x, rank: int):
    p = _p_value(ctx)
    if p == 2:
        return ctx.op("GlobalLpPool", [x], {"p": 2})
    if p == 1:
        return _spatial_sum(ctx, x, rank)
    return _signed_cbrt(ctx, _spatial_sum(ctx, _cube(ctx, x), rank))


_GLOBAL = {
    "max": lambda ctx, x, rank: ctx.op("GlobalMaxPool", [x]),
    "avg": lambda ctx, x, rank: ctx.op("GlobalAveragePool", [x]),
    "sum": _spatial_sum,
    "lp": _global_lp,
}


# Documented default None; the kernel counts padding unless told not to and is channel-first
# (pinned by tests against MXNet).
@mxnet_op("Pooling", kernel_defaults={"count_include_pad": "True", "layout": "NCHW"})
def pooling(ctx):
    check_channel_first(ctx)
    x = ctx.input(0)
    pool_type = ctx.attrs.choice("pool_type", _WINDOWED)
    rank = ctx.need_rank(x)
    if rank < 3:
        ctx.fail(f"input rank {rank}: pooling needs (N, C, spatial...)")
    if ctx.attrs.bool("global_pool"):
        return [_GLOBAL[pool_type](ctx, x, rank)]
    kernel = list(ctx.attrs.ints("kernel"))
    if len(kernel) != rank - 2:
        ctx.fail(f"kernel {tuple(kernel)} does not fit an input of rank {rank}")
    convention = ctx.attrs.str("pooling_convention")
    if convention == "same":
        if any(ctx.attrs.ints("pad")):
            ctx.fail("pooling_convention 'same' takes no pad (MXNet refuses it too)")
        pad = [0] * len(kernel)
    else:
        pad = spatial(ctx, "pad", len(kernel), 0)
    stride = spatial(ctx, "stride", len(kernel), 1)
    plan = _plan(ctx, kernel, stride, pad, convention)
    return [_WINDOWED[pool_type](ctx, x, kernel, stride, plan)]
