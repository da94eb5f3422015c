"""Indexing and selection: gather_nd, pick, one_hot, where, topk, argsort (MXNet 1.9.1).

Float indices are truncated to integers (MXNet casts them; ONNX Cast truncates too).

- gather_nd(data, indices): indices has shape (M, Y...); out[y] = data[indices[0][y], ...,
  indices[M-1][y]], shape (Y..., data.shape[M:]) -> GatherND with the index axis moved last.
- pick(data, index, axis=-1, keepdims=False, mode='clip'): out = data[..., index, ...] along
  ``axis`` per position (index has data's shape without that axis, or with it as 1);
  'clip' clamps index to [0, n-1], 'wrap' takes it modulo n -> GatherElements.
- one_hot(indices, depth, on_value=1, off_value=0, dtype=float32): shape indices.shape + (depth,),
  on_value where the last index equals the (truncated) index, off_value elsewhere; an index
  outside [0, depth) gives a row of off_value (ONNX OneHot would wrap negative ones, so this is
  Equal against 0..depth-1 and Where).
- where(condition, x, y): x where condition is non-zero, else y. condition has x's shape, or
  is 1-D of x's first dim and selects whole rows (reshaped to (N, 1, ...) for ONNX's
  right-aligned broadcasting).
- topk(data, axis=-1, k=1, ret_typ='indices', is_ascend=False, dtype=float32): the k largest
  (smallest with is_ascend) along axis, sorted; k < 1 means all; axis None flattens first.
  ret_typ 'value', 'indices' (as ``dtype``), 'both' ([value, indices]), 'mask' (data's type,
  1 at the selected positions) -> TopK (+ ScatterElements for the mask).
- argsort(data, axis=-1, is_ascend=True, dtype=float32): indices that sort along axis -> TopK
  with k = the axis' run-time size.
"""
from __future__ import annotations

import onnx_ir as ir

from modelport.frontends.mxnet.ops._dtype import cast, dtype_attr, numpy_type
from modelport.frontends.mxnet.ops.shape import dims_of
from modelport.frontends.mxnet.registry import mxnet_op

INT64 = ir.DataType.INT64


def _axis(ctx, axis: int, rank: int) -> int:
    if not -rank <= axis < rank:
        ctx.fail(f"axis {axis} is out of range for a rank-{rank} input")
    return axis % rank


@mxnet_op("gather_nd")
def gather_nd(ctx):
    data, indices = ctx.input(0), ctx.input(1)
    rank = ctx.need_rank(indices)
    perm = list(range(1, rank)) + [0]
    moved = ctx.op("Transpose", [indices], {"perm": perm}) if rank > 1 else indices
    return [ctx.op("GatherND", [data, cast(ctx, moved, INT64)])]


def _clip_index(ctx, index, n):
    return ctx.op("Min", [ctx.op("Max", [index, ctx.ints([0], "zero")]), ctx.op("Sub", [n, ctx.ints([1], "one")])])


_MODES = {"clip": _clip_index, "wrap": lambda ctx, index, n: ctx.op("Mod", [index, n])}


@mxnet_op("pick")
def pick(ctx):
    data, index = ctx.input(0), ctx.input(1)
    rank = ctx.need_rank(data)
    axis = ctx.attrs.optional("axis", "int")
    if axis is None:
        ctx.fail("axis=None (pick over the flattened input) is not supported")
    axis = _axis(ctx, axis, rank)
    index = cast(ctx, index, INT64)
    if ctx.need_rank(index) == rank - 1:
        index = ctx.op("Unsqueeze", [index, ctx.ints([axis], "axis")])
    index = _MODES[ctx.attrs.choice("mode", _MODES)](ctx, index, dims_of(ctx, data, axis, axis + 1))
    out = ctx.op("GatherElements", [data, index], {"axis": axis})
    return [out if ctx.attrs.bool("keepdims") else ctx.op("Squeeze", [out, ctx.ints([axis], "squeeze")])]


@mxnet_op("one_hot")
def one_hot(ctx):
    depth = ctx.attrs.int("depth")
    if depth <= 0:
        ctx.fail(f"depth {depth} must be positive")
    dtype = numpy_type(dtype_attr(ctx))
    index = ctx.op("Unsqueeze", [cast(ctx, ctx.input(0), INT64), ctx.ints([-1], "last")])
    hit = ctx.op("Equal", [index, ctx.ints(list(range(depth)), "depth")])
    on, off = ctx.const(ctx.attrs.float("on_value"), "on", dtype), ctx.const(ctx.attrs.float("off_value"), "off", dtype)
    return [ctx.op("Where", [hit, on, off])]


@mxnet_op("where")
def where(ctx):
    condition, x, y = ctx.input(0), ctx.input(1), ctx.input(2)
    rank, cond_rank = ctx.need_rank(x), ctx.need_rank(condition)
    if cond_rank not in (rank, 1):
        ctx.fail(f"condition of rank {cond_rank}: MXNet takes x's shape or a 1-D condition of x's first dim")
    condition = cast(ctx, condition, ir.DataType.BOOL)
    if cond_rank < rank:
        condition = ctx.op("Unsqueeze", [condition, ctx.ints(list(range(1, rank)), "rows")])
    return [ctx.op("Where", [condition, x, y])]


def _along(ctx, data):
    """(data, axis) with axis None flattening data first."""
    axis = ctx.attrs.optional("axis", "int")
    if axis is None:
        return ctx.op("Reshape", [data, ctx.ints([-1], "flat")]), 0
    return data, _axis(ctx, axis, ctx.need_rank(data))


def _topk(ctx, data, axis: int, k, ascending: bool):
    return ctx.op("TopK", [data, k], {"axis": axis, "largest": int(not ascending), "sorted": 1}, num_outputs=2)


def _mask(ctx, data, values, indices, axis):
    zeros = ctx.op("Expand", [ctx.const(0, "zero", numpy_type(data.dtype)), ctx.op("Shape", [data])])
    ones = ctx.op("Expand", [ctx.const(1, "one", numpy_type(data.dtype)), ctx.op("Shape", [values])])
    return [ctx.op("ScatterElements", [zeros, indices, ones], {"axis": axis})]


_RESULTS = {
    "value": lambda ctx, data, values, indices, axis: [values],
    "indices": lambda ctx, data, values, indices, axis: [cast(ctx, indices, dtype_attr(ctx))],
    "both": lambda ctx, data, values, indices, axis: [values, cast(ctx, indices, dtype_attr(ctx))],
    "mask": _mask,
}


@mxnet_op("topk")
def topk(ctx):
    data, axis = _along(ctx, ctx.input(0))
    ret_typ = ctx.attrs.choice("ret_typ", _RESULTS)
    k = ctx.attrs.int("k")
    size = ctx.dims(data)[axis]
    if size is not None and k > size:
        ctx.fail(f"k {k} is larger than axis {axis}'s {size} entries")
    count = ctx.ints([k], "k") if k >= 1 else dims_of(ctx, data, axis, axis + 1)
    values, indices = _topk(ctx, data, axis, count, ctx.attrs.bool("is_ascend"))
    return _RESULTS[ret_typ](ctx, data, values, indices, axis)


@mxnet_op("argsort")
def argsort(ctx):
    data, axis = _along(ctx, ctx.input(0))
    _, indices = _topk(ctx, data, axis, dims_of(ctx, data, axis, axis + 1), ctx.attrs.bool("is_ascend"))
    return [cast(ctx, indices, dtype_attr(ctx))]

