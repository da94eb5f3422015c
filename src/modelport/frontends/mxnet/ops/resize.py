"""Resizing: UpSampling (nearest, bilinear) and _contrib_BilinearResize2D.

UpSampling, nearest: out[y, x] = in[y // s, x // s] -> ONNX Resize(mode nearest,
coordinate_transformation_mode asymmetric, nearest_mode floor): src = floor(dst / s).
With several inputs MXNet's output size is (s*H0, s*W0) and input i is upsampled by
the integer factor s*H0 / Hi; the results are concatenated on channels
(multi_input_mode 'concat') or summed ('sum'). Input i then gets a Resize to the
run-time size (N_i, C_i, s*H0, s*W0), which is the same nearest rule.

UpSampling, bilinear: MXNet runs a Deconvolution with the node's weight input
(C, 1, k, k), k = 2s - s % 2, stride s, pad ceil((s - 1) / 2), num_group =
num_filter, no bias; output size s*(H-1) + k - 2*pad = s*H. ONNX ConvTranspose with
the same weight, group = C, is the same sum. The weight is whatever the checkpoint
holds (usually MXNet's Bilinear initializer, sometimes trained).

_contrib_BilinearResize2D: output size from ``mode``
  size:  (height, width), or (int(H * scale_height), int(W * scale_width)) in float32
         when scale_height is given (MXNet then requires scale_width too);
  like:  input 1's (H, W);   odd_scale: int((H - H%2) * scale) + H%2;
  to_even_down / to_even_up / to_odd_down / to_odd_up: H -/+ to the nearest even/odd;
computed at run time from Shape. The kernel samples src = dst * (in-1)/(out-1) with
align_corners (ONNX 'align_corners'; both give 0 for an output size of 1), else
src = max(0, (dst + 0.5) * in/out - 0.5) with in/out taken as 0 for an output size
of 1: ONNX 'pytorch_half_pixel' (0 there) with the usual clamp of negative source
coordinates; plain 'half_pixel' would sample the centre for an output size of 1.
Resize gets ``sizes`` (never ``scales``): ONNX then uses in/out as the ratio like MXNet,
while a scale that does not divide the size would shift the sampling grid.
"""
from __future__ import annotations

import math

from modelport.frontends.mxnet.ops.shape import dims_of
from modelport.frontends.mxnet.registry import mxnet_op

_NEAREST = {"mode": "nearest", "coordinate_transformation_mode": "asymmetric", "nearest_mode": "floor"}
_LINEAR = {"mode": "linear"}
_ALIGN = {True: "align_corners", False: "pytorch_half_pixel"}


def _resize_to(ctx, data, size_hw, attributes):
    sizes = ctx.op("Concat", [dims_of(ctx, data, 0, 2), size_hw], {"axis": 0})
    return ctx.op("Resize", [data, None, None, sizes], attributes)


def _nearest(ctx):
    scale, inputs = ctx.attrs.int("scale"), ctx.inputs()
    if len(inputs) == 1:
        scales = ctx.const([1, 1, scale, scale], "scales")
        return ctx.op("Resize", [inputs[0], None, scales], _NEAREST)
    target = ctx.op("Mul", [dims_of(ctx, inputs[0], 2, 4), ctx.ints([scale, scale], "scale")])
    parts = [_resize_to(ctx, x, target, _NEAREST) for x in inputs]
    if ctx.attrs.str("multi_input_mode") == "sum":
        return ctx.op("Sum", parts)
    return ctx.op("Concat", parts, {"axis": 1})


def _bilinear(ctx):
    scale, filters = ctx.attrs.int("scale"), ctx.attrs.int("num_filter")
    if ctx.num_inputs != 2:
        ctx.fail(f"bilinear UpSampling takes data and a weight, the node has {ctx.num_inputs} inputs")
    kernel, pad = 2 * scale - scale % 2, math.ceil((scale - 1) / 2)
    ctx.check_weight_shape(1, (filters, 1, kernel, kernel))
    channels = ctx.dims(ctx.input(0))[1:2]
    if channels and channels[0] not in (None, filters):
        ctx.fail(f"num_filter {filters} differs from the input's {channels[0]} channels")
    return ctx.op("ConvTranspose", [ctx.input(0), ctx.input(1)],
                  {"kernel_shape": [kernel, kernel], "strides": [scale, scale],
                   "pads": [pad] * 4, "group": filters})


_SAMPLERS = {"nearest": _nearest, "bilinear": _bilinear}


@mxnet_op("UpSampling")
def upsampling(ctx):
    if ctx.need_rank(ctx.input(0)) != 4:
        ctx.fail("UpSampling takes NCHW (rank-4) input")
    kind = ctx.attrs.choice("sample_type", _SAMPLERS)
    return [_SAMPLERS[kind](ctx)]


# -- BilinearResize2D output sizes: fn(ctx, hw) -> 1-D int64 [h, w] ---------------------
def _scaled(ctx, hw):
    """floor(float32(hw) * (scale_height, scale_width)), as MXNet's static_cast<int>."""
    scales = [ctx.attrs.optional("scale_height"), ctx.attrs.optional("scale_width")]
    if None in scales:
        ctx.fail("needs both scale_height and scale_width (MXNet fails with 'bad optional access')")
    product = ctx.op("Mul", [ctx.op("Cast", [hw], {"to": 1}), ctx.const(scales, "scale")])
    return ctx.op("Cast", [ctx.op("Floor", [product])], {"to": 7})


def _size_mode(ctx, hw):
    if ctx.attrs.optional("scale_height") is not None:
        return _scaled(ctx, hw)
    return ctx.ints([ctx.attrs.int("height"), ctx.attrs.int("width")], "size")


def _like_mode(ctx, hw):
    if ctx.num_inputs != 2:
        ctx.fail("mode 'like' needs a second input")
    return dims_of(ctx, ctx.input(1), 2, 4)


def _odd_scale(ctx, hw):
    odd = ctx.op("Mod", [hw, ctx.ints([2, 2], "two")])
    return ctx.op("Add", [_scaled(ctx, ctx.op("Sub", [hw, odd])), odd])


def _parity(sign_odd: int, shift: int):
    """hw + shift + sign_odd * (hw % 2): the to_even/to_odd modes."""
    def size(ctx, hw):
        odd = ctx.op("Mod", [hw, ctx.ints([2, 2], "two")])
        base = ctx.op("Add", [hw, ctx.ints([shift, shift], "shift")]) if shift else hw
        return ctx.op("Add" if sign_odd > 0 else "Sub", [base, odd])
    return size


_MODES = {"size": _size_mode, "like": _like_mode, "odd_scale": _odd_scale,
          "to_even_down": _parity(-1, 0), "to_even_up": _parity(+1, 0),
          "to_odd_down": _parity(+1, -1), "to_odd_up": _parity(-1, +1)}


@mxnet_op("_contrib_BilinearResize2D")
def bilinear_resize(ctx):
    data = ctx.input(0)
    if ctx.need_rank(data) != 4:
        ctx.fail("BilinearResize2D takes NCHW (rank-4) input")
    mode = ctx.attrs.choice("mode", _MODES)
    size_hw = _MODES[mode](ctx, dims_of(ctx, data, 2, 4))
    attributes = dict(_LINEAR, coordinate_transformation_mode=_ALIGN[ctx.attrs.bool("align_corners")])
    return [_resize_to(ctx, data, size_hw, attributes)]
