"""Conv -> Convolution, ConvTranspose -> Deconvolution (2-D, symmetric padding).

Caffe's Convolution blob is the ONNX weight as is, ``(C_out, C_in/group, kh, kw)``, and
its Deconvolution blob is ConvTranspose's ``(C_in, C_out/group, kh, kw)``: no reordering.
A missing bias is written ``bias_term: false``. With the ``depthwise`` option (NNIE) a
convolution whose group equals its input and output channels is typed ``DepthwiseConv``.
"""
from __future__ import annotations

from modelport.backends.caffe.ops import Unsupported, emitter
from modelport.backends.caffe.ops._common import window


def _conv_param(param, win, num_output: int, group: int, bias: bool) -> None:
    param.num_output = num_output
    param.bias_term = bias
    (kh, kw), (sh, sw), (ph, pw), (dh, dw) = win["kernel"], win["stride"], win["pad"], win["dilation"]
    param.kernel_h, param.kernel_w = kh, kw
    param.stride_h, param.stride_w = sh, sw
    param.pad_h, param.pad_w = ph, pw
    if (dh, dw) != (1, 1):
        if dh != dw:
            raise Unsupported(f"dilations {dh}x{dw} differ (Caffe takes one dilation here)")
        param.dilation.append(dh)
    if group != 1:
        param.group = group


@emitter("Conv")
def conv(net, node) -> None:
    weight = net.need_const(node.inputs[1], "the weight")
    bias = net.const(node.inputs[2]) if len(node.inputs) > 2 and node.inputs[2] is not None else None
    if len(node.inputs) > 2 and node.inputs[2] is not None and bias is None:
        raise Unsupported("the bias must be a constant")
    win = window(net, node, weight.ndim, weight.shape[2:])
    group = int(net.attr(node, "group", 1))
    out = node.outputs[0].name
    depthwise = net.options.get("depthwise") and group > 1 and group == weight.shape[0] and weight.shape[1] == 1
    layer = net.layer("DepthwiseConv" if depthwise else "Convolution", [node.inputs[0]], out)
    _conv_param(layer.convolution_param, win, weight.shape[0], group, bias is not None)
    net.blob(layer, weight)
    if bias is not None:
        net.blob(layer, bias.reshape(-1))


@emitter("ConvTranspose")
def deconv(net, node) -> None:
    weight = net.need_const(node.inputs[1], "the weight")
    bias = net.const(node.inputs[2]) if len(node.inputs) > 2 and node.inputs[2] is not None else None
    if len(node.inputs) > 2 and node.inputs[2] is not None and bias is None:
        raise Unsupported("the bias must be a constant")
    if any(net.attr(node, "output_padding", (0, 0))) or net.attr(node, "output_shape") is not None:
        raise Unsupported("output_padding/output_shape (Caffe's Deconvolution has neither)")
    win = window(net, node, weight.ndim, weight.shape[2:])
    group = int(net.attr(node, "group", 1))
    layer = net.layer("Deconvolution", [node.inputs[0]], node.outputs[0].name)
    _conv_param(layer.convolution_param, win, weight.shape[1] * group, group, bias is not None)
    net.blob(layer, weight)
    if bias is not None:
        net.blob(layer, bias.reshape(-1))
