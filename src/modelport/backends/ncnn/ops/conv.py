"""Conv -> Convolution / ConvolutionDepthWise / Convolution1D; ConvTranspose -> Deconvolution /
DeconvolutionDepthWise.

Convolution (and ConvolutionDepthWise, which adds 7=group) parameter ids:
0=num_output 1=kernel_w 11=kernel_h 2=dilation_w 12=dilation_h 3=stride_w 13=stride_h
4=pad_left 15=pad_right 14=pad_top 16=pad_bottom 5=bias_term 6=weight_data_size
9=activation_type 10=activation_params (array). Weights: the kernel (tagged), laid out as
ONNX's ``(C_out, C_in/group, kh, kw)``, then the bias (raw).

Convolution1D (a 1-D convolution on a ``(1, C, L)`` tensor, an ncnn 2-D blob h=C, w=L):
0=num_output 1=kernel_w 2=dilation_w 3=stride_w 4=pad_left 15=pad_right 5=bias_term
6=weight_data_size 9/10 activation. Grouped 1-D convolutions are refused.

Convolution3D (ConvolutionDepthWise3D adds 7=group), on a ``(1, C, D, H, W)`` tensor (a 4-D
blob): ids as Convolution plus 21=kernel_d 22=dilation_d 23=stride_d 24=pad_front
17=pad_behind.

Deconvolution (DeconvolutionDepthWise adds 7=group): ids as Convolution, plus
18=output_pad_right 19=output_pad_bottom; output size
``(in-1)*stride + dilation*(k-1) + 1 - pad_begin - pad_end + output_pad``. ncnn's kernel is
``(group, C_out/group, C_in/group, kh, kw)``; ONNX's is ``(C_in, C_out/group, kh, kw)``
= ``(group, C_in/group, C_out/group, kh, kw)``: axes 1 and 2 of the grouped view swap.

A 1x1 Conv (group 1, no pads) on a ``(1, C, 1, 1)`` input, e.g. the classifier after global
pooling, is ``y = W x + b`` on the C values: written as InnerProduct (see ``dense.py``; its
weight is the conv weight as ``(C_out, C)``), as ncnnoptimize would, not a 1x1
Convolution. InnerProduct gives a 1-D blob; unless every reader only flattens it, a
Reshape to ``(C_out, 1, 1)`` follows (the InnerProduct blob is ``<output>_pooled``).

``auto_pad`` SAME_UPPER / SAME_LOWER become explicit pads from the static shapes. A
private-domain Conv/ConvTranspose (see ``passes/fuse_activation.py``) carries
``activation_type``/``activation_params``, written as 9/10.
"""
from __future__ import annotations

import numpy as np

from modelport.backends.ncnn.registry import Weight, activation_params, attr, ncnn_op


def _pads(ctx, node, spatial: tuple[int, ...], kernel, strides, dilations) -> list[int]:
    """begin pads then end pads, explicit."""
    n = len(spatial)
    auto = attr(node, "auto_pad", "NOTSET")
    auto = auto.decode() if isinstance(auto, bytes) else auto
    if auto in ("NOTSET", "VALID"):
        pads = list(attr(node, "pads", [0] * 2 * n)) if auto == "NOTSET" else [0] * 2 * n
        return [int(p) for p in pads]
    begin, end = [], []
    for i in range(n):
        out = -(-spatial[i] // strides[i])
        total = max(0, (out - 1) * strides[i] + (kernel[i] - 1) * dilations[i] + 1 - spatial[i])
        small, big = total // 2, total - total // 2
        begin.append(small if auto == "SAME_UPPER" else big)
        end.append(big if auto == "SAME_UPPER" else small)
    return begin + end


def _window(node, kernel_rank: int):
    strides = [int(s) for s in attr(node, "strides", [1] * kernel_rank)]
    dilations = [int(d) for d in attr(node, "dilations", [1] * kernel_rank)]
    return strides, dilations


def _weighted(ctx, node):
    """``(x, its ncnn dims, weight shape, weight tensor, group, kernel)`` of a Conv/ConvTranspose
    whose weight is a constant (its data is not read here)."""
    x = node.inputs[0]
    dims = ctx.dims(x)
    wshape = ctx.const_shape(node.inputs[1])
    if wshape is None:
        ctx.refuse("the weight must be a constant (ncnn has no dynamic-weight form written here)")
    return x, dims, wshape, node.inputs[1].const_value, int(attr(node, "group", 1)), wshape[2:]


@ncnn_op("Conv")
def conv(ctx, node):
    x, dims, wshape, weight, group, kernel = _weighted(ctx, node)
    strides, dilations = _window(node, len(kernel))
    pads = _pads(ctx, node, dims[1:], kernel, strides, dilations)
    bias = node.inputs[2] if len(node.inputs) > 2 else None
    weights = [Weight(lambda w=weight: w.numpy(), True)]
    if bias is not None:
        weights.append(Weight(ctx.need_const(bias, "the bias"), False))
    params = {0: wshape[0], 5: int(bias is not None), 6: int(np.prod(wshape))}
    params.update(activation_params(node))
    out = node.outputs[0].name
    if len(kernel) == 1:
        if group != 1:
            ctx.refuse("grouped 1-D convolution (ncnn's Convolution1D has no groups)")
        params.update({1: kernel[0], 2: dilations[0], 3: strides[0], 4: pads[0], 15: pads[1]})
        ctx.layer("Convolution1D", [ctx.blob(x)], [out], params, weights)
        return
    if len(kernel) == 3:  # (1, C, D, H, W): a 4-D blob c, d, h, w
        params.update({1: kernel[2], 11: kernel[1], 21: kernel[0], 2: dilations[2], 12: dilations[1],
                       22: dilations[0], 3: strides[2], 13: strides[1], 23: strides[0], 4: pads[2], 15: pads[5],
                       14: pads[1], 16: pads[4], 24: pads[0], 17: pads[3]})
        kind = "Convolution3D"
        if group != 1:
            kind = "ConvolutionDepthWise3D"
            params[7] = group
        ctx.layer(kind, [ctx.blob(x)], [out], params, weights)
        return
    if len(kernel) != 2:
        ctx.refuse(f"{len(kernel)}-D convolution (ncnn writes 1-D, 2-D and 3-D here)")
    params.update({1: kernel[1], 11: kernel[0], 2: dilations[1], 12: dilations[0], 3: strides[1], 13: strides[0],
                   4: pads[1], 14: pads[0]})
    # right/bottom default to left/top: written only when they differ (ncnn's x86 kernels run
    # measurably slower, about 4% on resnet18, when symmetric pads are spelled out)
    params.update({k: v for k, v, same in ((15, pads[3], pads[1]), (16, pads[2], pads[0])) if v != same})
    if dims[1:] == (1, 1) and kernel == (1, 1) and group == 1 and not any(pads):
        _inner_product(ctx, node, x, weight, bias, wshape[0], dims[0])
        return
    kind = "Convolution"
    if group != 1:
        kind = "ConvolutionDepthWise"
        params[7] = group
    ctx.layer(kind, [ctx.blob(x)], [out], params, weights)


def _inner_product(ctx, node, x, weight, bias, c_out: int, c_in: int):
    from modelport.backends.ncnn.ops.pool import only_flattened

    value = node.outputs[0]
    flat = only_flattened(value)
    out = value.name if flat else f"{value.name}_pooled"
    params = {0: c_out, 1: int(bias is not None), 2: c_out * c_in}
    params.update(activation_params(node))
    weights = [Weight(lambda w=weight: w.numpy(), True)]
    if bias is not None:
        weights.append(Weight(ctx.need_const(bias, "the bias"), False))
    ctx.layer("InnerProduct", [ctx.blob(x)], [out], params, weights)
    if not flat:
        ctx.layer("Reshape", [out], [value.name], {0: 1, 1: 1, 2: c_out})


@ncnn_op("ConvTranspose")
def conv_transpose(ctx, node):
    x, dims, wshape, weight, group, kernel = _weighted(ctx, node)
    if len(kernel) != 2:
        ctx.refuse(f"{len(kernel)}-D transposed convolution (ncnn writes 2-D here)")
    strides, dilations = _window(node, 2)
    out_shape = ctx.dims(node.outputs[0])
    c_in, c_out_g = wshape[0], wshape[1]
    out_pad = [int(p) for p in attr(node, "output_padding", [0, 0])]
    auto = attr(node, "auto_pad", "NOTSET")
    pads = [int(p) for p in attr(node, "pads", [0, 0, 0, 0])]
    if attr(node, "output_shape", None) is not None or auto not in ("NOTSET", b"NOTSET"):
        # derive the end pads from the static output size (begin pads as given / SAME split)
        full = [(dims[1 + i] - 1) * strides[i] + (kernel[i] - 1) * dilations[i] + 1 + out_pad[i] for i in range(2)]
        total = [full[i] - out_shape[1 + i] for i in range(2)]
        if any(t < 0 for t in total):
            ctx.refuse("output_shape larger than the full transposed convolution")
        upper = auto in ("SAME_UPPER", b"SAME_UPPER")  # onnxruntime: the larger half at the end for
        begin = [t // 2 if upper else t - t // 2 for t in total]  # SAME_UPPER, else at the start
        pads = begin + [t - b for t, b in zip(total, begin)]

    def kernel_data(w=weight, g=group):
        a = w.numpy().reshape((g, c_in // g, c_out_g) + tuple(kernel))
        return np.ascontiguousarray(a.transpose(0, 2, 1, 3, 4))
    weights = [Weight(kernel_data, True)]
    bias = node.inputs[2] if len(node.inputs) > 2 else None
    if bias is not None:
        weights.append(Weight(ctx.need_const(bias, "the bias"), False))
    params = {0: c_out_g * group, 1: kernel[1], 11: kernel[0], 2: dilations[1], 12: dilations[0], 3: strides[1],
              13: strides[0], 4: pads[1], 14: pads[0], 15: pads[3], 16: pads[2], 18: out_pad[1], 19: out_pad[0],
              5: int(bias is not None), 6: int(np.prod(wshape))}
    params.update(activation_params(node))
    kind = "Deconvolution"
    if group != 1:
        kind = "DeconvolutionDepthWise"
        params[7] = group
    ctx.layer(kind, [ctx.blob(x)], [node.outputs[0].name], params, weights)
