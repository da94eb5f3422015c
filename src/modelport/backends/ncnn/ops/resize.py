"""Resize (4-D, spatial axes only) -> Interp [0=resize_type (1 nearest, 2 bilinear, 3 bicubic)
3=output_height 4=output_width 6=align_corner].

ncnn's nearest reads input ``min(floor(x * in / out), in - 1)``: ONNX ``nearest`` with
``coordinate_transformation_mode=asymmetric`` and ``nearest_mode=floor``. Its bilinear
reads ``(x + 0.5) * in / out - 0.5`` clamped at 0 (align_corner=0): ONNX ``linear`` with
``half_pixel`` or ``pytorch_half_pixel`` (the same when the output is larger than 1);
``align_corners`` is align_corner=1. Other modes are refused. The output size is the
static one of the IR.
"""
from __future__ import annotations

from modelport.backends.ncnn.registry import attr, ncnn_op


def _s(v):
    return v.decode() if isinstance(v, bytes) else v


@ncnn_op("Resize")
def resize(ctx, node):
    x = node.inputs[0]
    dims = ctx.dims(x)
    out = ctx.dims(node.outputs[0])
    if len(dims) != 3 or out[0] != dims[0]:
        ctx.refuse("a resize other than of the spatial axes of a (1, C, H, W) tensor")
    mode = _s(attr(node, "mode", "nearest"))
    coord = _s(attr(node, "coordinate_transformation_mode", "half_pixel"))
    if mode == "nearest":
        nearest = _s(attr(node, "nearest_mode", "round_prefer_floor"))
        if coord != "asymmetric" or nearest != "floor":
            integer = all(o % i == 0 for o, i in zip(out[1:], dims[1:]))
            # upsampling by an integer factor: every rule picks floor(x / factor) except
            # asymmetric + round/ceil; half_pixel + round_prefer_floor picks floor too
            if not (integer and coord in ("asymmetric", "half_pixel", "pytorch_half_pixel")
                    and nearest in ("floor", "round_prefer_floor") and
                    (coord != "asymmetric" or nearest == "floor")):
                ctx.refuse(f"nearest with {coord}/{nearest} (ncnn's nearest is asymmetric/floor)")
        kind, align = 1, 0
    elif mode == "linear":
        if coord == "align_corners":
            align = 1
        elif coord in ("half_pixel", "pytorch_half_pixel"):
            align = 0
        else:
            ctx.refuse(f"linear with {coord}")
        kind = 2
    else:
        ctx.refuse(f"mode '{mode}'")
    ctx.layer("Interp", [ctx.blob(x)], [node.outputs[0].name], {0: kind, 3: out[1], 4: out[2], 6: align})
