"""GluonCV's box decoding: _contrib_box_decode (MXNet 1.9.1, ``bounding_box-inl.h``).

box_decode(data (B, N, 4), anchors (1, N, 4), std0..std3 = 1, clip = -1, format = 'center')
gives corner boxes (B, N, 4). Anchors are (x, y, w, h) with format 'center', or
(xmin, ymin, xmax, ymax) with 'corner', then w = xmax - xmin, h = ymax - ymin,
x = xmin + w * 0.5, y = ymin + h * 0.5. Per box, in float32 and in the kernel's order:

    ox = d0 * std0 * w + x          oy = d1 * std1 * h + y
    dw = d2 * std2, dh = d3 * std3, each min(., clip) when clip > 0
    ow = exp(dw) * w * 0.5          oh = exp(dh) * h * 0.5
    out = (ox - ow, oy - oh, ox + ow, oy + oh)

(the kernel's ``* 0.5`` in double is exact, so float32 ops give its values.) Written as
Split / Mul / Add / Min / Exp / Concat along the last axis, so any B and N work.
"""
from __future__ import annotations

import numpy as np

from modelport.frontends.mxnet.registry import mxnet_op

F32 = np.float32


@mxnet_op("_contrib_box_decode")
def box_decode(ctx):
    data, anchors = ctx.input(0), ctx.input(1)
    for value, what in ((data, "data (B, N, 4)"), (anchors, "anchors (1, N, 4)")):
        if ctx.rank(value) not in (None, 3) or ctx.dims(value)[-1:] not in ([], [None], [4]):
            ctx.fail(f"{what} must have rank 3 and 4 values a box")
    stds = [ctx.attrs.float(f"std{k}") for k in range(4)]
    clip, corner = ctx.attrs.float("clip"), ctx.attrs.choice("format", ("center", "corner")) == "corner"
    ones = ctx.ints([1, 1, 1, 1], "split")
    d0, d1, d2, d3 = ctx.op("Split", [data, ones], {"axis": -1}, num_outputs=4)
    a0, a1, a2, a3 = ctx.op("Split", [anchors, ones], {"axis": -1}, num_outputs=4)
    half = ctx.const(F32(0.5), "half")
    if corner:
        a2, a3 = ctx.op("Sub", [a2, a0]), ctx.op("Sub", [a3, a1])
        a0, a1 = ctx.op("Add", [a0, ctx.op("Mul", [a2, half])]), ctx.op("Add", [a1, ctx.op("Mul", [a3, half])])
    scale = lambda d, k: ctx.op("Mul", [d, ctx.const(F32(stds[k]), f"std{k}")])  # noqa: E731
    ox = ctx.op("Add", [ctx.op("Mul", [scale(d0, 0), a2]), a0])
    oy = ctx.op("Add", [ctx.op("Mul", [scale(d1, 1), a3]), a1])
    dw, dh = scale(d2, 2), scale(d3, 3)
    if clip > 0:
        bound = ctx.const(F32(clip), "clip")
        dw, dh = ctx.op("Min", [dw, bound]), ctx.op("Min", [dh, bound])
    ow = ctx.op("Mul", [ctx.op("Mul", [ctx.op("Exp", [dw]), a2]), half])
    oh = ctx.op("Mul", [ctx.op("Mul", [ctx.op("Exp", [dh]), a3]), half])
    return [ctx.op("Concat", [ctx.op("Sub", [ox, ow]), ctx.op("Sub", [oy, oh]), ctx.op("Add", [ox, ow]),
                              ctx.op("Add", [oy, oh])], {"axis": -1})]
