"""Joining and cutting: Concat, SliceChannel (split), slice, slice_axis, Crop.

- Concat(dim) -> ONNX Concat(axis = dim mod rank); any number of inputs.
- SliceChannel(num_outputs, axis, squeeze_axis) -> ONNX Split into equal parts (no
  ``split`` input, so the axis may be symbolic), then Squeeze(axis) per output when
  squeeze_axis. Outputs are named ``<name>_output0..N-1`` by the importer.
- slice(begin, end, step) -> ONNX Slice over axes 0..len(begin)-1. A None begin is
  0 (step > 0) or the last index (step < 0); a None end is the dim (step > 0) or
  "before index 0" (step < 0). Negative indices count from the end in both, and
  ONNX clamps out-of-range starts/ends like MXNet does, so None maps to INT64_MAX /
  INT64_MIN and the rest passes through.
- slice_axis(axis, begin, end) -> Slice on one axis (end None = to the end).
- Crop (NCHW): output[:, :, oy:oy+h, ox:ox+w]. One input: (h, w) = h_w; two inputs:
  (h, w) = input 1's run-time height and width. Offset = ``offset``, or with
  center_crop ((H - h) // 2, (W - w) // 2) of the run-time sizes. Sizes are read with
  Shape at run time, so the crop follows the input size (PITFALL 11; RetinaFace crops
  an upsampled map to its lateral map's size).
"""
from __future__ import annotations

from modelport.frontends.mxnet.ops.shape import dims_of
from modelport.frontends.mxnet.registry import mxnet_op

INT64_MAX, INT64_MIN = 2**63 - 1, -(2**63)


def _axis(ctx, axis: int, rank: int) -> int:
    if not -rank <= axis < rank:
        ctx.fail(f"axis {axis} is out of range for a rank-{rank} input")
    return axis % rank


def _slice(ctx, data, starts, ends, axes, steps=None):
    inputs = [data, ctx.ints(starts, "starts"), ctx.ints(ends, "ends"), ctx.ints(axes, "axes")]
    if steps is not None:
        inputs.append(ctx.ints(steps, "steps"))
    return ctx.op("Slice", inputs)


@mxnet_op("Concat")
def concat(ctx):
    inputs = ctx.inputs()
    rank = ctx.need_rank(inputs[0])
    return [ctx.op("Concat", inputs, {"axis": _axis(ctx, ctx.attrs.int("dim"), rank)})]


@mxnet_op("SliceChannel", "split", schema="SliceChannel")
def slice_channel(ctx):
    data = ctx.input(0)
    rank = ctx.need_rank(data)
    axis = _axis(ctx, ctx.attrs.int("axis"), rank)
    count = ctx.attrs.int("num_outputs")
    size = ctx.dims(data)[axis]
    if size is not None and size % count:
        ctx.fail(f"axis {axis} has {size} entries, not divisible into {count} outputs")
    parts = ctx.op("Split", [data], {"axis": axis}, num_outputs=count) if count > 1 else [data]
    if ctx.attrs.bool("squeeze_axis"):
        if size is not None and size != count:
            ctx.fail(f"squeeze_axis needs outputs of size 1 on axis {axis} ({size} / {count} here)")
        parts = [ctx.op("Squeeze", [p, ctx.ints([axis], "axes")]) for p in parts]
    return list(parts)


@mxnet_op("slice")
def slice_(ctx):
    data = ctx.input(0)
    rank = ctx.need_rank(data)
    begin, end = ctx.attrs.ints("begin", allow_none=True), ctx.attrs.ints("end", allow_none=True)
    step = list(ctx.attrs.ints("step", allow_none=True))
    if len(begin) != len(end) or len(begin) > rank or len(step) > len(begin):
        ctx.fail(f"begin {begin}, end {end}, step {tuple(step)} do not fit a rank-{rank} input")
    steps = [s if s is not None else 1 for s in step] + [1] * (len(begin) - len(step))
    if 0 in steps:
        ctx.fail("step 0 is invalid")
    starts = [b if b is not None else (0 if s > 0 else INT64_MAX) for b, s in zip(begin, steps)]
    ends = [e if e is not None else (INT64_MAX if s > 0 else INT64_MIN) for e, s in zip(end, steps)]
    return [_slice(ctx, data, starts, ends, list(range(len(begin))), steps)]


@mxnet_op("slice_axis")
def slice_axis(ctx):
    data = ctx.input(0)
    axis = _axis(ctx, ctx.attrs.int("axis"), ctx.need_rank(data))
    end = ctx.attrs.optional("end", "int")
    return [_slice(ctx, data, [ctx.attrs.int("begin")], [INT64_MAX if end is None else end], [axis])]


@mxnet_op("Crop")
def crop(ctx):
    data = ctx.input(0)
    if ctx.need_rank(data) != 4:
        ctx.fail("Crop takes NCHW (rank-4) input")
    if ctx.num_inputs == 2:
        size = dims_of(ctx, ctx.input(1), 2, 4)
    elif ctx.num_inputs == 1:
        size = list(ctx.attrs.ints("h_w"))
        if len(size) != 2 or min(size) <= 0:
            ctx.fail(f"h_w {tuple(size)} must give a positive height and width")
    else:
        ctx.fail(f"Crop takes 1 or 2 inputs, the node has {ctx.num_inputs}")
    if ctx.attrs.bool("center_crop"):
        size_value = size if not isinstance(size, list) else ctx.ints(size, "h_w")
        spare = ctx.op("Sub", [dims_of(ctx, data, 2, 4), size_value])
        starts = ctx.op("Div", [spare, ctx.ints([2, 2], "two")])
        ends = ctx.op("Add", [starts, size_value])
    else:
        offset = list(ctx.attrs.ints("offset"))
        if len(offset) != 2 or min(offset) < 0:
            ctx.fail(f"offset {tuple(offset)} must be two non-negative numbers")
        starts = ctx.ints(offset, "offset")
        if isinstance(size, list):
            ends = ctx.ints([o + n for o, n in zip(offset, size)], "ends")
        else:
            ends = ctx.op("Add", [starts, size])
    return [ctx.op("Slice", [data, starts, ends, ctx.ints([2, 3], "axes")])]
