"""SSD's multibox operators: _contrib_MultiBoxPrior (MXNet 1.9.1 has no ``MultiBoxPrior`` alias).

_contrib_MultiBoxPrior reads only the shape of its input ``data`` (N, C, H, W) and gives the
anchor boxes of an H x W feature map, shape (1, H * W * A, 4) with A = len(sizes) +
len(ratios) - 1, each box (xmin, ymin, xmax, ymax) in fractions of the image. Attributes
(defaults from MXNet's docs): sizes (1,), ratios (1,), clip False, steps (-1, -1) as
(step_y, step_x), offsets (0.5, 0.5) as (offset_y, offset_x). MXNet 1.9.1's CPU kernel
(``multibox_prior-inl.h``), all in float32 and in this order of operations:

- steps: when step_y <= 0 or step_x <= 0, step_y = 1 / H and step_x = 1 / W (steps of
  opposite signs are an MXNet error, refused here too); sizes and ratios must be non-empty;
- for row i < H, column j < W: cy = (i + offset_y) * step_y, cx = (j + offset_x) * step_x;
- the anchors of a position, in order: every size s with the first ratio r0, then
  every further ratio r with sizes[0]; each is
  w = s * H / W * sqrt(r) / 2 (the width is scaled by in_height / in_width),
  h = s / sqrt(r) / 2, box = (cx - w, cy - h, cx + w, cy + h);
- boxes are laid out row by row, column by column, anchor by anchor;
- clip: every coordinate clamped to [0, 1].

When H and W are static at convert time (``--static``) the priors are one float32
constant computed with numpy exactly as above. When either is symbolic they are computed
at run time from the feature map's Shape (Gather H, W -> Range -> centres; the half-widths
from H / W), so one converted model follows the input size: centres (H, W, 1, 4) =
(cx, cy, cx, cy) plus half-extents (A, 4) = (-w, -h, w, h), Clip, Reshape to (1, -1, 4).
Each float operation is the kernel's (a - b computed as a + (-b), exact), so both paths
give MXNet's values bit for bit.
"""
from __future__ import annotations

import numpy as np

from modelport.frontends.mxnet.registry import mxnet_op

F32 = np.float32
FLOAT = 1  # onnx TensorProto.FLOAT, for Cast


def _params(ctx):
    """sizes, sqrt(ratio) per anchor (float32, length A), steps (None = auto), offsets, clip."""
    sizes = np.asarray(ctx.attrs.tuple("sizes"), F32)
    ratios = np.asarray(ctx.attrs.tuple("ratios"), F32)
    steps, offsets = ctx.attrs.tuple("steps"), ctx.attrs.tuple("offsets")
    if sizes.size == 0 or ratios.size == 0:
        ctx.fail("sizes and ratios must be non-empty (MXNet checks this too)")
    if len(steps) != 2 or len(offsets) != 2:
        ctx.fail(f"steps {steps} and offsets {offsets} must each give (y, x)")
    if steps[0] * steps[1] < 0:
        ctx.fail(f"steps {steps}: give both step_y and step_x, or neither (MXNet refuses this too)")
    roots = np.sqrt(ratios)  # float32 sqrt, as the kernel's sqrtf
    anchor_sizes = np.concatenate([sizes, np.full(ratios.size - 1, sizes[0], F32)])
    anchor_roots = np.concatenate([np.full(sizes.size, roots[0], F32), roots[1:]])
    auto = steps[0] <= 0 or steps[1] <= 0
    return anchor_sizes, anchor_roots, None if auto else (F32(steps[0]), F32(steps[1])), \
        (F32(offsets[0]), F32(offsets[1])), ctx.attrs.bool("clip")


def priors(height: int, width: int, sizes, roots, steps, offsets, clip: bool) -> np.ndarray:
    """The (1, H * W * A, 4) float32 priors, in the kernel's order of float32 operations."""
    h_f, w_f = F32(height), F32(width)
    step_y, step_x = steps if steps is not None else (F32(1) / h_f, F32(1) / w_f)
    half_w = sizes * h_f / w_f * roots / F32(2)
    half_h = sizes / roots / F32(2)
    cy = (np.arange(height).astype(F32) + offsets[0]) * step_y
    cx = (np.arange(width).astype(F32) + offsets[1]) * step_x
    out = np.empty((height, width, sizes.size, 4), F32)
    out[..., 0] = cx[None, :, None] - half_w
    out[..., 1] = cy[:, None, None] - half_h
    out[..., 2] = cx[None, :, None] + half_w
    out[..., 3] = cy[:, None, None] + half_h
    if clip:
        out = np.clip(out, F32(0), F32(1))
    return out.reshape(1, -1, 4)


@mxnet_op("_contrib_MultiBoxPrior")
def multibox_prior(ctx):
    """Anchor boxes of the feature map ``data`` (only its H and W are read)."""
    data = ctx.input(0)
    if ctx.need_rank(data) != 4:
        ctx.fail(f"data must be (N, C, H, W); it has rank {ctx.rank(data)}")
    sizes, roots, steps, offsets, clip = _params(ctx)
    height, width = ctx.dims(data)[2:]
    if height is not None and width is not None:
        return [ctx.const(priors(height, width, sizes, roots, steps, offsets, clip), "priors")]

    shape = ctx.op("Shape", [data])

    def dim(axis: int, static):
        if static is not None:
            return ctx.const(np.int64(static), f"dim{axis}", np.int64)
        return ctx.op("Gather", [shape, ctx.const(np.int64(axis), f"axis{axis}", np.int64)], {"axis": 0})

    h_i, w_i = dim(2, height), dim(3, width)
    h_f, w_f = ctx.op("Cast", [h_i], {"to": FLOAT}), ctx.op("Cast", [w_i], {"to": FLOAT})
    if steps is None:
        one = ctx.const(F32(1), "one")
        step_y, step_x = ctx.op("Div", [one, h_f]), ctx.op("Div", [one, w_f])
    else:
        step_y, step_x = ctx.const(steps[0], "step_y"), ctx.const(steps[1], "step_x")

    def centres(count, offset, step, axes, mask, name):
        """(i + offset) * step for i < count, unsqueezed to rank 4 and spread over (x, y, x, y)."""
        index = ctx.op("Range", [ctx.const(np.int64(0), f"{name}_start", np.int64), count,
                                 ctx.const(np.int64(1), f"{name}_delta", np.int64)])
        centre = ctx.op("Mul", [ctx.op("Add", [ctx.op("Cast", [index], {"to": FLOAT}),
                                               ctx.const(offset, f"offset_{name}")]), step])
        centre = ctx.op("Unsqueeze", [centre, ctx.ints(axes, f"axes_{name}")])
        return ctx.op("Mul", [centre, ctx.const(np.asarray(mask, F32), f"mask_{name}")])

    cy = centres(h_i, offsets[0], step_y, [1, 2, 3], [0, 1, 0, 1], "y")   # (H, 1, 1, 4)
    cx = centres(w_i, offsets[1], step_x, [0, 2, 3], [1, 0, 1, 0], "x")   # (1, W, 1, 4)
    centre = ctx.op("Add", [cy, cx])                                      # (H, W, 1, 4)

    half_w = ctx.op("Mul", [ctx.const(sizes, "sizes"), h_f])
    half_w = ctx.op("Div", [ctx.op("Mul", [ctx.op("Div", [half_w, w_f]), ctx.const(roots, "roots")]),
                            ctx.const(F32(2), "two")])
    half_w = ctx.op("Unsqueeze", [half_w, ctx.ints([1], "axes_w")])       # (A, 1)
    half_h = (sizes / roots / F32(2)).reshape(-1, 1)
    extent = ctx.op("Concat", [ctx.op("Neg", [half_w]), ctx.const(-half_h, "neg_half_h"),
                               half_w, ctx.const(half_h, "half_h")], {"axis": 1})  # (A, 4)
    boxes = ctx.op("Add", [centre, extent])                               # (H, W, A, 4)
    if clip:
        boxes = ctx.op("Clip", [boxes, ctx.const(F32(0), "lo"), ctx.const(F32(1), "hi")])
    return [ctx.op("Reshape", [boxes, ctx.ints([1, -1, 4], "shape")])]
