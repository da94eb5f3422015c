"""Resize along H and W of a 4-D tensor.

- nearest, by an integer factor s -> Deconvolution with group = channels, kernel = stride
  = s and weights of ones (no bias): each output pixel is 1 * the input pixel it copies,
  exact. Taken only where the nearest mode maps output ``i`` to input ``floor(i / s)``
  (integer factors; asymmetric coordinates need ``nearest_mode`` floor or
  round_prefer_floor).
- linear with ``align_corners`` coordinates -> Interp (``height``/``width`` = the output
  size): Caffe's Interp maps output ``i`` to input ``i * (in - 1) / (out - 1)``, which is
  ONNX's align_corners. Other linear modes (half_pixel: PyTorch's align_corners=False)
  have no Caffe layer and are refused.
"""
from __future__ import annotations

import numpy as np

from modelport.backends.caffe.ops import Unsupported, emitter


def _text(value, default: str) -> str:
    value = default if value is None else value
    return value.decode() if isinstance(value, bytes) else str(value)


@emitter("Resize")
def resize(net, node) -> None:
    mode = _text(net.attr(node, "mode"), "nearest")
    in_shape, out_shape = net.shape(node.inputs[0]), net.shape(node.outputs[0])
    if len(in_shape) != 4 or in_shape[:2] != out_shape[:2]:
        raise Unsupported("Resize other than along H and W of a 4-D tensor")
    coords = _text(net.attr(node, "coordinate_transformation_mode"), "half_pixel")
    if mode == "linear":
        if coords != "align_corners":
            raise Unsupported(f"bilinear Resize with {coords} coordinates (Caffe's Interp aligns corners)")
        layer = net.layer("Interp", [node.inputs[0]], node.outputs[0].name)
        layer.interp_param.height, layer.interp_param.width = out_shape[2:]
        return
    if mode != "nearest":
        raise Unsupported(f"Resize mode={mode}")
    factors = [o / i for o, i in zip(out_shape[2:], in_shape[2:])]
    if any(f != int(f) or f < 1 for f in factors) or factors[0] != factors[1]:
        raise Unsupported(f"nearest Resize by {factors} (integer, equal factors only)")
    nearest = _text(net.attr(node, "nearest_mode"), "round_prefer_floor")
    if coords in ("asymmetric", "tf_crop_and_resize", "align_corners") and nearest not in ("floor", "round_prefer_floor"):
        raise Unsupported(f"nearest Resize with {coords}/{nearest} coordinates")
    if coords in ("align_corners", "tf_crop_and_resize"):
        raise Unsupported(f"nearest Resize with {coords} coordinates")
    s, channels = int(factors[0]), in_shape[1]
    layer = net.layer("Deconvolution", [node.inputs[0]], node.outputs[0].name)
    p = layer.convolution_param
    p.num_output, p.group, p.bias_term = channels, channels, False
    p.kernel_h = p.kernel_w = p.stride_h = p.stride_w = s
    net.blob(layer, np.ones((channels, 1, s, s), np.float32))
