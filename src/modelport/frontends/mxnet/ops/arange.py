"""_arange (MXNet 1.9.1): start, start + step, ... up to stop (exclusive), each value ``repeat`` times.

``stop`` None: the range is [0, start). Length ceil((stop - start) / step) x repeat; MXNet
computes out[i] = start + (i // repeat) * step in the output type (start and step cast to
it first), as done here. ``infer_range=True`` only matters without ``stop`` (the length then
comes from whatever consumes the output, at bind time): that is refused, with a stop it is
the plain range. The op has no inputs, so its output is a constant of the converted model
(a range over a feature-map size is ``_contrib_arange_like``, or shape_array arithmetic).
"""
from __future__ import annotations

import math

import numpy as np

from modelport.frontends.mxnet.ops._dtype import dtype_attr, numpy_type
from modelport.frontends.mxnet.registry import mxnet_op


@mxnet_op("_arange")
def arange(ctx):
    start, stop = ctx.attrs.float("start"), ctx.attrs.optional("stop", "float")
    step, repeat = ctx.attrs.float("step"), ctx.attrs.int("repeat")
    if stop is None:
        if ctx.attrs.bool("infer_range"):
            ctx.fail("infer_range without stop takes its length from the consumer at bind time; "
                     "give stop (or use _contrib_arange_like)")
        start, stop = 0.0, start
    if step == 0 or repeat < 1:
        ctx.fail(f"step {step:g} / repeat {repeat}: step must be non-zero and repeat positive")
    count = math.ceil((stop - start) / step)
    if count <= 0:
        ctx.fail(f"the range [{start:g}, {stop:g}) with step {step:g} is empty")
    dtype = numpy_type(dtype_attr(ctx))
    values = dtype.type(start) + np.arange(count).astype(dtype) * dtype.type(step)
    return [ctx.const(np.repeat(values.astype(dtype), repeat), "range", dtype)]


@mxnet_op("_contrib_arange_like")
def arange_like(ctx):
    """_contrib_arange_like(data, start=0, step=1, repeat=1, axis=None): a range the size of
    ``data`` (axis None: data's shape, counting through every element in order) or of
    ``data.shape[axis]`` (1-D), out[i] = start + (i // repeat) * step in data's float type. The
    size is read with Shape/Size at run time, so the range follows the input size."""
    from modelport.frontends.mxnet.ops.shape import dims_of

    data = ctx.input(0)
    start, step, repeat = ctx.attrs.float("start"), ctx.attrs.float("step"), ctx.attrs.int("repeat")
    axis = ctx.attrs.optional("axis", "int")
    if repeat < 1:
        ctx.fail(f"repeat {repeat} must be positive")
    rank = ctx.need_rank(data)
    if axis is not None and not -rank <= axis < rank:
        ctx.fail(f"axis {axis} is out of range for a rank-{rank} input")
    if axis is None:
        count = ctx.op("Size", [data]) if None in ctx.dims(data) else ctx.const(np.int64(np.prod(ctx.dims(data))),
                                                                                 "size", np.int64)
    else:
        count = ctx.op("Squeeze", [dims_of(ctx, data, axis % rank, axis % rank + 1), ctx.ints([0], "axes")])
    index = ctx.op("Range", [ctx.const(np.int64(0), "zero", np.int64), count, ctx.const(np.int64(1), "one", np.int64)])
    if repeat > 1:
        index = ctx.op("Div", [index, ctx.const(np.int64(repeat), "repeat", np.int64)])
    values = ctx.op("Add", [ctx.op("Mul", [ctx.op("Cast", [index], {"to": 1}), ctx.const(np.float32(step), "step")]),
                            ctx.const(np.float32(start), "start")])
    if axis is None:
        values = ctx.op("Reshape", [values, dims_of(ctx, data, 0)])
    return [values]
