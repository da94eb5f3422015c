"""Pad -> ONNX Pad.

MXNet's ``pad_width`` interleaves the amounts per axis: (before_0, after_0, before_1,
after_1, ...), one pair for every axis of the input (MXNet takes rank 4 or 5 and
pads only the spatial axes). ONNX's ``pads`` input lists all begins, then all ends:
pads = pad_width[0::2] + pad_width[1::2]. The modes match by name and meaning:
'constant' (fill ``constant_value``), 'edge' (repeat the border value) and
'reflect' (mirror without repeating the border, numpy's 'reflect').
"""
from __future__ import annotations

from modelport.frontends.mxnet.registry import mxnet_op

_MODES = {"constant": "constant", "edge": "edge", "reflect": "reflect"}


@mxnet_op("Pad")
def pad(ctx):
    data = ctx.input(0)
    rank = ctx.need_rank(data)
    mode = ctx.attrs.choice("mode", _MODES)
    width = list(ctx.attrs.ints("pad_width"))
    if len(width) != 2 * rank or min(width, default=0) < 0:
        ctx.fail(f"pad_width {tuple(width)} must hold {2 * rank} non-negative numbers for a rank-{rank} input")
    inputs = [data, ctx.ints(width[0::2] + width[1::2], "pads")]
    if mode == "constant":
        inputs.append(ctx.const(ctx.attrs.float("constant_value"), "value"))
    return [ctx.op("Pad", inputs, {"mode": _MODES[mode]})]
