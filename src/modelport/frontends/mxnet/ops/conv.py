"""Convolution and Deconvolution (1-D, 2-D, 3-D; groups, dilation, adj, target_shape).

MXNet weights are (num_filter, C/groups, *kernel) for Convolution and
(C, num_filter/groups, *kernel) for Deconvolution, the same layouts as ONNX Conv and
ConvTranspose. Deconvolution's ``no_bias`` defaults to True (Convolution's to False).
With ``target_shape``, MXNet pads by ceil(t/2) at the start and floor(t/2) at the end,
where t = stride*(in-1) + dilated_kernel - target; ONNX ConvTranspose's
``output_shape`` (auto_pad NOTSET) splits the total padding the same way.
"""
from __future__ import annotations

from modelport.frontends.mxnet.ops._window import check_channel_first, spatial
from modelport.frontends.mxnet.registry import mxnet_op


def _common(ctx):
    """(kernel, stride, dilate, pad, num_filter, num_group), each checked for sense."""
    check_channel_first(ctx)
    kernel = list(ctx.attrs.ints("kernel"))
    if not kernel:
        ctx.fail("'kernel' is empty")
    n = len(kernel)
    stride, dilate, pad = spatial(ctx, "stride", n, 1), spatial(ctx, "dilate", n, 1), spatial(ctx, "pad", n, 0)
    filters, groups = ctx.attrs.int("num_filter"), ctx.attrs.int("num_group")
    if min(kernel + stride + dilate + [filters, groups]) <= 0 or min(pad) < 0:
        ctx.fail(f"kernel {kernel}, stride {stride}, dilate {dilate}, num_filter {filters} and num_group "
                 f"{groups} must be positive, pad {pad} non-negative")
    if filters % groups:
        ctx.fail(f"num_filter {filters} is not divisible by num_group {groups}")
    return kernel, stride, dilate, pad, filters, groups


def _conv_input(attrs, weight) -> tuple:
    """(N, C, *spatial) with C = num_group * the weight's C/groups (axis 1)."""
    return (None, weight.shape[1] * attrs.int("num_group")) + (None,) * (weight.ndim - 2)


def _deconv_input(attrs, weight) -> tuple:
    """(N, C, *spatial) with C = the weight's axis 0."""
    return (None, weight.shape[0]) + (None,) * (weight.ndim - 2)


@mxnet_op("Convolution", weight_slots=(1, 2), input_shape=_conv_input)
def convolution(ctx):
    kernel, stride, dilate, pad, filters, groups = _common(ctx)
    ctx.check_weight_shape(1, (filters, None, *kernel))
    inputs = [ctx.input(0), ctx.input(1)]
    if not ctx.attrs.bool("no_bias"):
        ctx.check_weight_shape(2, (filters,))
        inputs.append(ctx.input(2))
    return [ctx.op("Conv", inputs, {"kernel_shape": kernel, "strides": stride, "dilations": dilate,
                                    "pads": pad + pad, "group": groups})]


@mxnet_op("Deconvolution", weight_slots=(1, 2), input_shape=_deconv_input)
def deconvolution(ctx):
    kernel, stride, dilate, pad, filters, groups = _common(ctx)
    ctx.check_weight_shape(1, (None, filters // groups, *kernel))
    inputs = [ctx.input(0), ctx.input(1)]
    if not ctx.attrs.bool("no_bias"):
        ctx.check_weight_shape(2, (filters,))
        inputs.append(ctx.input(2))
    attributes = {"kernel_shape": kernel, "strides": stride, "dilations": dilate, "group": groups}
    target = list(ctx.attrs.ints("target_shape"))
    if target and any(target):
        attributes["output_shape"] = target
    else:
        attributes["pads"] = pad + pad
        adj = spatial(ctx, "adj", len(kernel), 0)
        if any(adj):
            attributes["output_padding"] = adj
    return [ctx.op("ConvTranspose", inputs, attributes)]
