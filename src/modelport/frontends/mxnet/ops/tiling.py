"""Copying along axes: tile, repeat, reverse (flip), stack, broadcast_axis (MXNet 1.9.1).

- tile(data, reps): data repeated reps[i] times along axis i. Fewer reps than dims: reps get
  leading 1s; more reps than dims: data gets leading size-1 dims -> (Unsqueeze +) Tile.
- repeat(data, repeats, axis=None): every element repeated ``repeats`` times along axis
  ([a, b] -> [a, a, b, b]); axis None flattens first -> Unsqueeze after the axis, Tile the new
  axis, Reshape with the axis' run-time size x repeats.
- reverse / flip(data, axis): the order along each listed axis reversed -> Slice with step -1.
- stack(*data, axis=0): the inputs (same shape) joined along a new axis (-rank-1 <= axis <= rank)
  -> Unsqueeze each, Concat.
- broadcast_axis / broadcast_axes(data, axis, size): size-1 axes stretched to ``size`` -> Expand
  (the other dims stay: Expand broadcasts the 1s of its target shape).
"""
from __future__ import annotations

from modelport.frontends.mxnet.ops.shape import dims_of
from modelport.frontends.mxnet.registry import mxnet_op

INT64_MIN = -(2**63)


def _axis(ctx, axis: int, rank: int) -> int:
    if not -rank <= axis < rank:
        ctx.fail(f"axis {axis} is out of range for a rank-{rank} input")
    return axis % rank


@mxnet_op("tile")
def tile(ctx):
    data = ctx.input(0)
    rank = ctx.need_rank(data)
    reps = list(ctx.attrs.ints("reps"))
    if not reps or min(reps) < 0:
        ctx.fail(f"reps {tuple(reps)} must be non-negative counts")
    if len(reps) > rank:
        data = ctx.op("Unsqueeze", [data, ctx.ints(list(range(len(reps) - rank)), "lead")])
    reps = [1] * (rank - len(reps)) + reps
    return [ctx.op("Tile", [data, ctx.ints(reps, "reps")])]


@mxnet_op("repeat")
def repeat(ctx):
    data = ctx.input(0)
    count = ctx.attrs.int("repeats")
    if count < 0:
        ctx.fail(f"repeats {count} must be non-negative")
    axis = ctx.attrs.optional("axis", "int")
    if axis is None:
        data, axis = ctx.op("Reshape", [data, ctx.ints([-1], "flat")]), 0
    rank = ctx.need_rank(data)
    axis = _axis(ctx, axis, rank)
    spread = ctx.op("Unsqueeze", [data, ctx.ints([axis + 1], "new")])
    reps = [1] * (rank + 1)
    reps[axis + 1] = count
    tiled = ctx.op("Tile", [spread, ctx.ints(reps, "reps")])
    grown = ctx.op("Mul", [dims_of(ctx, data, axis, axis + 1), ctx.ints([count], "count")])
    pieces = [p for p in (dims_of(ctx, data, 0, axis) if axis else None, grown,
                          dims_of(ctx, data, axis + 1, rank) if axis + 1 < rank else None) if p is not None]
    shape = pieces[0] if len(pieces) == 1 else ctx.op("Concat", pieces, {"axis": 0})
    return [ctx.op("Reshape", [tiled, shape])]


@mxnet_op("reverse", "flip", schema="reverse")
def reverse(ctx):
    data = ctx.input(0)
    rank = ctx.need_rank(data)
    axes = sorted({_axis(ctx, a, rank) for a in ctx.attrs.ints("axis")})
    if not axes:
        return [ctx.op("Identity", [data])]
    n = len(axes)
    return [ctx.op("Slice", [data, ctx.ints([-1] * n, "starts"), ctx.ints([INT64_MIN] * n, "ends"),
                             ctx.ints(axes, "axes"), ctx.ints([-1] * n, "steps")])]


@mxnet_op("stack")
def stack(ctx):
    inputs = ctx.inputs()
    rank = ctx.need_rank(inputs[0])
    axis = ctx.attrs.int("axis")
    if not -rank - 1 <= axis <= rank:
        ctx.fail(f"axis {axis} is out of range for stacking rank-{rank} inputs")
    axis %= rank + 1
    parts = [ctx.op("Unsqueeze", [x, ctx.ints([axis], "axis")]) for x in inputs]
    return [parts[0] if len(parts) == 1 else ctx.op("Concat", parts, {"axis": axis})]


@mxnet_op("broadcast_axis", "broadcast_axes", schema="broadcast_axis")
def broadcast_axis(ctx):
    data = ctx.input(0)
    rank = ctx.need_rank(data)
    axes, sizes = ctx.attrs.ints("axis"), ctx.attrs.ints("size")
    if len(axes) != len(sizes):
        ctx.fail(f"axis {axes} and size {sizes} must have the same length")
    target = [1] * rank
    dims = ctx.dims(data)
    for a, s in zip(axes, sizes):
        a = _axis(ctx, a, rank)
        if dims[a] not in (None, 1):
            ctx.fail(f"axis {a} has size {dims[a]}; only size-1 axes broadcast")
        target[a] = s
    return [ctx.op("Expand", [data, ctx.ints(target, "shape")])]
