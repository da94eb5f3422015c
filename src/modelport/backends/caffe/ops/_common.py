"""Helpers shared by the emitters: 2-D window attributes in Caffe's symmetric form."""
from __future__ import annotations

from modelport.backends.caffe.ops import Unsupported


def window(net, node, rank: int, kernel=None, asymmetric: bool = False) -> dict:
    """``{kernel, stride, pad, end_pad, dilation}`` as (h, w) pairs for a 2-D Conv/Pool node;
    padding must be symmetric (Caffe pads both sides alike) unless ``asymmetric`` (the caller
    then checks that the end padding is never read differently), auto_pad explicit."""
    if rank != 4:
        raise Unsupported(f"{rank - 2}-D windows (Caffe layers here are 2-D)")
    auto_pad = net.attr(node, "auto_pad", "NOTSET")
    if isinstance(auto_pad, bytes):
        auto_pad = auto_pad.decode()
    if auto_pad not in ("NOTSET", "VALID"):
        raise Unsupported(f"auto_pad={auto_pad} (pad explicitly)")
    kernel = tuple(kernel if kernel is not None else net.attr(node, "kernel_shape"))
    strides = tuple(net.attr(node, "strides", (1, 1)))
    dilations = tuple(net.attr(node, "dilations", (1, 1)))
    pads = tuple(net.attr(node, "pads", (0, 0, 0, 0))) if auto_pad == "NOTSET" else (0, 0, 0, 0)
    if pads[:2] != pads[2:] and not asymmetric:
        raise Unsupported(f"asymmetric pads {list(pads)} (Caffe pads both sides alike)")
    return {"kernel": kernel, "stride": strides, "pad": pads[:2], "end_pad": pads[2:], "dilation": dilations}
