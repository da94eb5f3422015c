"""Region features: _contrib_ROIAlign (MXNet 1.9.1, ``roi_align.cc``) -> ONNX RoiAlign.

ROIAlign(data (N, C, H, W), rois (R, 5) rows (batch index, x1, y1, x2, y2) in image pixels,
pooled_size (ph, pw), spatial_scale, sample_ratio = -1, position_sensitive = False,
aligned = False) gives (R, C, ph, pw): each bin the average of bilinear samples, the
sample grid sample_ratio x sample_ratio per bin, or ceil(roi size / pooled size) per axis
when sample_ratio <= 0. Both ops come from Detectron's kernel:

- box corners are scaled by spatial_scale; aligned=False keeps them (and widens a box to
  at least 1 x 1 bin-units): ONNX's coordinate_transformation_mode 'output_half_pixel';
  aligned=True shifts them by -0.5 pixel (no minimum size): 'half_pixel';
- sample_ratio <= 0 is ONNX's adaptive sampling_ratio 0;
- a row whose batch index is negative is documented to give zeros. MXNet 1.9.1's CPU kernel
  instead writes one 0 at flat output position r (inside row 0's block) and leaves the
  row's own block unwritten (undefined values): the converted model gives the documented
  zeros, clamping the index to 0 for RoiAlign (which needs a valid one) and zeroing the
  row after with Where. Its other rows are then MXNet's, where MXNet's row 0 may not be.

position_sensitive=True (R-FCN's PS-RoIAlign): with K = ph * pw, the output has C / K channels
and its cell (r, c, i, j) pools only input channel c * K + i * pw + j over bin (i, j) of the
box, so every bin reads its own channel of the group c. MXNet's shape inference rejects a C
that is not a multiple of K; so does the converter, naming the node (when C is unknown at
conversion, the lowering's first Reshape fails at run time instead). Lowering, exact: RoiAlign
pools all C channels over every bin, (R, C, ph, pw); a Reshape to (R, C / K, K * K) puts group
c's channel k = i * pw + j at k * K plus the bin's flat index, so the cells wanted are the
diagonal k * (K + 1), taken with one Gather (axis 2, constant indices) and reshaped to
(R, C / K, ph, pw). It costs K times the pooling.
"""
from __future__ import annotations

import numpy as np

from modelport.frontends.mxnet.registry import mxnet_op


@mxnet_op("_contrib_ROIAlign")
def roi_align(ctx):
    data, rois = ctx.input(0), ctx.input(1)
    if ctx.rank(data) not in (None, 4) or ctx.rank(rois) not in (None, 2):
        ctx.fail("data must be (N, C, H, W) and rois (R, 5)")
    pooled = ctx.attrs.ints("pooled_size")
    if len(pooled) != 2 or min(pooled) < 1:
        ctx.fail(f"pooled_size {pooled} must be two positive sizes (h, w)")
    cells = pooled[0] * pooled[1]
    sensitive = ctx.attrs.bool("position_sensitive")
    channels = (ctx.dims(data) or [None, None])[1]
    if sensitive and channels is not None and channels % cells:
        ctx.fail(f"position_sensitive=True needs the {channels} input channels to be a multiple of "
                 f"pooled_size {pooled[0]}x{pooled[1]} = {cells}")
    ratio = ctx.attrs.int("sample_ratio")
    mode = "half_pixel" if ctx.attrs.bool("aligned") else "output_half_pixel"
    column = lambda start, end, name: ctx.op("Slice", [rois, ctx.ints([start], f"{name}_s"),  # noqa: E731
                                                       ctx.ints([end], f"{name}_e"), ctx.ints([1], f"{name}_a")])
    index = ctx.op("Squeeze", [ctx.op("Cast", [column(0, 1, "id")], {"to": 7}), ctx.ints([1], "squeeze")])  # (R,) int64
    zero = ctx.const(np.int64(0), "zero", np.int64)
    pooled_out = ctx.op("RoiAlign", [data, column(1, 5, "box"), ctx.op("Max", [index, zero])],
                        {"mode": "avg", "output_height": pooled[0], "output_width": pooled[1],
                         "sampling_ratio": max(ratio, 0), "spatial_scale": ctx.attrs.float("spatial_scale"),
                         "coordinate_transformation_mode": mode})
    if sensitive:  # (R, C, ph, pw) -> (R, C/K, K*K) -> diagonal (R, C/K, K) -> (R, C/K, ph, pw)
        groups = ctx.op("Reshape", [pooled_out, ctx.ints([0, -1, cells * cells], "groups")])
        diagonal = ctx.op("Gather", [groups, ctx.ints(np.arange(cells) * (cells + 1), "diagonal")], {"axis": 2})
        pooled_out = ctx.op("Reshape", [diagonal, ctx.ints([0, -1, *pooled], "cells")])
    valid = ctx.op("Reshape", [ctx.op("GreaterOrEqual", [index, zero]), ctx.ints([-1, 1, 1, 1], "rows")])
    return [ctx.op("Where", [valid, pooled_out, ctx.const(np.float32(0), "fill")])]
