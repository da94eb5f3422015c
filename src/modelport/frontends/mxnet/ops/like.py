"""Ops that read another tensor's shape: shape_array, slice_like, ones_like, zeros_like,
broadcast_like, reshape_like (MXNet 1.9.1 semantics).

- shape_array(x): x's shape as a 1-D int64 tensor -> ONNX Shape.
- slice_like(data, shape_like, axes=()): data[0:s0, 0:s1, ...] with s = shape_like's dims;
  ``axes`` empty slices every axis (ranks must match), else only the listed ones
  (negative ones count from data's end; shape_like's dim at the same index is used).
- ones_like(x) / zeros_like(x): a tensor of x's shape and type filled with 1 / 0
  (Expand of a scalar to Shape(x): no NaN of x leaks through a multiplication by 0).
  A ``dtype`` attribute (GluonCV's CenterNet decoder writes ``F.zeros_like(x,
  dtype='int64')``) is stored by MXNet 1.9.1 but read by nothing: both ops have no
  parameters, and the output keeps x's type whatever dtype says. It is accepted and
  ignored (ignored_attrs), as MXNet does.
- broadcast_like(lhs, rhs, lhs_axes=None, rhs_axes=None): lhs broadcast to rhs's shape; with
  axes, only lhs dim ``lhs_axes[i]`` (size 1) becomes rhs's dim ``rhs_axes[i]``.
- reshape_like(lhs, rhs, lhs_begin, lhs_end, rhs_begin, rhs_end): lhs reshaped to
  lhs.shape[:lhs_begin] + rhs.shape[rhs_begin:rhs_end] + lhs.shape[lhs_end:] (None = the
  whole range; negative bounds count from the end).

Shapes are read at run time with Shape, so the converted model follows the input size
(PITFALL 11); dims that are static at convert time fold to constants in the builder.
"""
from __future__ import annotations

import numpy as np

from modelport.frontends.mxnet.ops._dtype import numpy_type
from modelport.frontends.mxnet.ops.shape import dims_of
from modelport.frontends.mxnet.registry import mxnet_op


def _axis(ctx, axis: int, rank: int, what: str) -> int:
    if not -rank <= axis < rank:
        ctx.fail(f"{what} {axis} is out of range for a rank-{rank} input")
    return axis % rank


def dims_at(ctx, value, axes: list[int]):
    """value's dims at ``axes`` as one 1-D int64 tensor (constants where static)."""
    pieces = [dims_of(ctx, value, a, a + 1) for a in axes]
    return pieces[0] if len(pieces) == 1 else ctx.op("Concat", pieces, {"axis": 0})


@mxnet_op("shape_array")
def shape_array(ctx):
    return [dims_of(ctx, ctx.input(0), 0)]  # a constant when every dim is static


@mxnet_op("slice_like")
def slice_like(ctx):
    data, like = ctx.input(0), ctx.input(1)
    rank, like_rank = ctx.need_rank(data), ctx.need_rank(like)
    given = ctx.attrs.ints("axes")
    if not given and rank != like_rank:
        ctx.fail(f"without axes both inputs need the same rank ({rank} and {like_rank})")
    axes = [_axis(ctx, a, rank, "axis") for a in given] if given else list(range(rank))
    if any(a >= like_rank for a in axes):
        ctx.fail(f"axes {given} are out of range for shape_like's rank {like_rank}")
    ends = dims_at(ctx, like, axes)
    return [ctx.op("Slice", [data, ctx.ints([0] * len(axes), "starts"), ends, ctx.ints(axes, "axes")])]


def _filled(fill: float):
    def convert(ctx):
        x = ctx.input(0)
        dtype = numpy_type(x.dtype) if x.dtype is not None else np.float32
        return [ctx.op("Expand", [ctx.const(fill, f"fill_{fill:g}", dtype), ctx.op("Shape", [x])])]
    convert.__name__ = f"filled_{int(fill)}"
    return convert


_IGNORED = {"dtype": "MXNet 1.9.1's ones_like/zeros_like have no parameters: the output keeps the input's type"}
mxnet_op("ones_like", shape_preserving=True, ignored_attrs=_IGNORED)(_filled(1))
mxnet_op("zeros_like", shape_preserving=True, ignored_attrs=_IGNORED)(_filled(0))


@mxnet_op("broadcast_like")
def broadcast_like(ctx):
    lhs, rhs = ctx.input(0), ctx.input(1)
    lhs_axes, rhs_axes = ctx.attrs.optional("lhs_axes", "ints"), ctx.attrs.optional("rhs_axes", "ints")
    if lhs_axes is None and rhs_axes is None:
        return [ctx.op("Expand", [lhs, ctx.op("Shape", [rhs])])]
    lhs_axes, rhs_axes = lhs_axes or (), rhs_axes or ()
    if len(lhs_axes) != len(rhs_axes) or not lhs_axes:
        ctx.fail(f"lhs_axes {lhs_axes} and rhs_axes {rhs_axes} must pair up")
    rank, rhs_rank = ctx.need_rank(lhs), ctx.need_rank(rhs)
    source = {_axis(ctx, a, rank, "lhs axis"): _axis(ctx, b, rhs_rank, "rhs axis") for a, b in zip(lhs_axes, rhs_axes)}
    dims = ctx.dims(lhs)
    if any(dims[a] not in (None, 1) for a in source):
        ctx.fail(f"lhs_axes {lhs_axes} must be size-1 dims of lhs {tuple(dims)}")
    pieces = [dims_of(ctx, rhs, source[k], source[k] + 1) if k in source else dims_of(ctx, lhs, k, k + 1)
              for k in range(rank)]
    target = pieces[0] if rank == 1 else ctx.op("Concat", pieces, {"axis": 0})
    return [ctx.op("Expand", [lhs, target])]


def _range(ctx, rank: int, begin_key: str, end_key: str) -> tuple[int, int]:
    begin, end = ctx.attrs.optional(begin_key, "int"), ctx.attrs.optional(end_key, "int")
    begin = 0 if begin is None else begin + rank * (begin < 0)
    end = rank if end is None else end + rank * (end < 0)
    if not 0 <= begin <= end <= rank:
        ctx.fail(f"{begin_key}/{end_key} give [{begin}, {end}), not a range of a rank-{rank} input")
    return begin, end


@mxnet_op("reshape_like")
def reshape_like(ctx):
    lhs, rhs = ctx.input(0), ctx.input(1)
    rank, rhs_rank = ctx.need_rank(lhs), ctx.need_rank(rhs)
    lb, le = _range(ctx, rank, "lhs_begin", "lhs_end")
    rb, re_ = _range(ctx, rhs_rank, "rhs_begin", "rhs_end")
    pieces = [dims_of(ctx, v, b, e) for v, b, e in ((lhs, 0, lb), (rhs, rb, re_), (lhs, le, rank)) if e > b]
    if not pieces:
        ctx.fail("the output shape would be empty")
    target = pieces[0] if len(pieces) == 1 else ctx.op("Concat", pieces, {"axis": 0})
    return [ctx.op("Reshape", [lhs, target])]
