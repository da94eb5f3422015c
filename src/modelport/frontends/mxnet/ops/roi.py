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

position_sensitive (R-FCN's PS-RoIAlign) has no ONNX form: refused, naming the node.
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
    if ctx.attrs.bool("position_sensitive"):
        ctx.fail("position_sensitive=True (PS-RoIAlign) has no ONNX form")
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
    valid = ctx.op("Reshape", [ctx.op("GreaterOrEqual", [index, zero]), ctx.ints([-1, 1, 1, 1], "rows")])
    return [ctx.op("Where", [valid, pooled_out, ctx.const(np.float32(0), "fill")])]
