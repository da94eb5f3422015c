"""MaxPool / AveragePool (2-D -> Pooling, 1-D -> Pooling1D) and GlobalAveragePool /
GlobalMaxPool -> Pooling.

Pooling1D (on a ``(1, C, L)`` tensor, an ncnn 2-D blob): 0=pooling_type 1=kernel_w
2=stride_w 3=pad_left 14=pad_right 5=pad_mode 6=avgpool_count_include_pad, the same
rules as below along w. Pooling3D (``(1, C, D, H, W)``, a 4-D blob) adds 21=kernel_d
22=stride_d 23=pad_front 16=pad_behind; average pooling counting pads with a ceil tail is
refused there.

Pooling parameter ids: 0=pooling_type (0 max, 1 avg) 1=kernel_w 11=kernel_h 2=stride_w
12=stride_h 3=pad_left 14=pad_right 13=pad_top 15=pad_bottom 4=global_pooling
5=pad_mode (0 full, 1 valid, 2 SAME_UPPER, 3 SAME_LOWER) 6=avgpool_count_include_pad.

Always written with ``pad_mode=1`` (valid: ncnn pads exactly the given pads, output
``floor((in + pads - k) / s) + 1``). When the IR's (static) output is larger, as with
``ceil_mode`` or MXNet's 'full' convention, the missing ``tail`` is added to the end pads:
max pooling pads with -FLT_MAX, so the extra cells never win; average pooling then must
not count them:

- ``count_include_pad=0``: ncnn's include_pad=0 divides by the cells inside the input,
  which is ONNX's rule whatever the pads;
- ``count_include_pad=1`` with no tail: ncnn's include_pad=1 divides by ``kh * kw``, as ONNX;
- ``count_include_pad=1`` with a tail: ONNX (and MXNet) divide by the window clipped to the
  padded input, so the real pads count and the tail does not. Written as a Padding layer
  with the real pads (zeros, blob ``<output>_padded``) followed by Pooling with
  include_pad=0 and only the tail as padding: exact.

Global pooling: ncnn's global Pooling gives a 1-D blob (w=C) for a (1, C, H, W) tensor;
unless every reader only flattens it (Flatten, Reshape, Gemm, or a 1x1 Conv written as
InnerProduct), a Reshape back to (C, 1, 1) follows and the pooled 1-D blob is
``<output>_pooled``.
"""
from __future__ import annotations

from modelport.backends.ncnn.registry import attr, ncnn_op

FLATTENING = ("Flatten", "Reshape", "Gemm")


def _inner_product_conv(node) -> bool:
    """A Conv the conv emitter writes as InnerProduct (1x1, group 1, no pads, 1x1 input)."""
    if node.op_type != "Conv" or len(node.inputs) < 2 or node.inputs[1] is None:
        return False
    w = node.inputs[1].shape
    x = node.inputs[0].shape
    pads = node.attributes.get("pads")
    auto = node.attributes.get("auto_pad")
    group = node.attributes.get("group")
    return (w is not None and x is not None and len(w) == 4 and tuple(w[2:]) == (1, 1) and len(x) == 4
            and tuple(x[2:]) == (1, 1) and (pads is None or not any(pads.value))
            and (auto is None or auto.value in ("NOTSET", "VALID"))
            and (group is None or group.value == 1))


def only_flattened(value) -> bool:
    """Whether every reader of ``value`` reads it as a flat vector (its ncnn blob may be 1-D)."""
    if value.is_graph_output() or not value.uses():
        return False
    return all(use.idx == 0 and (use.node.op_type in FLATTENING or _inner_product_conv(use.node))
               for use in value.uses())


@ncnn_op("MaxPool", "AveragePool")
def pool(ctx, node):
    x = node.inputs[0]
    dims = ctx.dims(x)
    n = len(dims) - 1  # spatial dims
    if ctx.offset(x) != 1 or n not in (1, 2, 3):
        ctx.refuse(f"{n}-D pooling (ncnn has 1-D, 2-D and 3-D pooling)")
    if len(node.outputs) > 1 and node.outputs[1].uses():
        ctx.refuse("the Indices output is read")
    kernel = [int(k) for k in attr(node, "kernel_shape")]
    strides = [int(s) for s in attr(node, "strides", [1] * n)]
    if [int(d) for d in attr(node, "dilations", [1] * n)] != [1] * n:
        ctx.refuse("dilated pooling")
    auto = attr(node, "auto_pad", "NOTSET")
    auto = auto.decode() if isinstance(auto, bytes) else auto
    out = ctx.dims(node.outputs[0])
    if auto in ("NOTSET", "VALID"):
        pads = [int(p) for p in attr(node, "pads", [0] * 2 * n)] if auto == "NOTSET" else [0] * 2 * n
    else:  # SAME_*: the total pad from the static sizes
        pads = [0] * 2 * n
        for i in range(n):
            total = max(0, (out[1 + i] - 1) * strides[i] + kernel[i] - dims[1 + i])
            small, big = total // 2, total - total // 2
            pads[i], pads[i + n] = (small, big) if auto == "SAME_UPPER" else (big, small)
    tail = [max(0, (out[1 + i] - 1) * strides[i] + kernel[i] - (dims[1 + i] + pads[i] + pads[i + n]))
            for i in range(n)]
    is_max = node.op_type == "MaxPool"
    include = int(attr(node, "count_include_pad", 0))
    name = node.outputs[0].name
    src = ctx.blob(x)
    if not is_max and include and any(tail) and any(pads) and n == 3:
        ctx.refuse("3-D average pooling counting pads with a ceil tail (no exact form written here)")
    if not is_max and include and any(tail) and any(pads):
        padded = f"{name}_padded"
        border = {2: pads[0], 3: pads[1]} if n == 1 else {0: pads[0], 1: pads[2], 2: pads[1], 3: pads[3]}
        ctx.layer("Padding", [src], [padded], {**border, 4: 0, 5: 0.0})
        src, pads, include = padded, [0] * 2 * n, 0
    elif not is_max and include and any(tail):
        include = 0  # no real pads: the clipped window is the window inside the input
    if n == 3:
        kind = "Pooling3D"
        params = {0: 0 if is_max else 1, 1: kernel[2], 11: kernel[1], 21: kernel[0], 2: strides[2], 12: strides[1],
                  22: strides[0], 3: pads[2], 14: pads[5] + tail[2], 13: pads[1], 15: pads[4] + tail[1],
                  23: pads[0], 16: pads[3] + tail[0], 5: 1}
    elif n == 1:
        kind = "Pooling1D"
        params = {0: 0 if is_max else 1, 1: kernel[0], 2: strides[0], 3: pads[0], 14: pads[1] + tail[0], 5: 1}
    else:
        kind = "Pooling"
        params = {0: 0 if is_max else 1, 1: kernel[1], 11: kernel[0], 2: strides[1], 12: strides[0], 3: pads[1], 5: 1}
        # top defaults to left, right to left, bottom to top: written only when they differ
        params.update({k: v for k, v, same in ((13, pads[0], pads[1]), (14, pads[3] + tail[1], pads[1]),
                                               (15, pads[2] + tail[0], pads[0])) if v != same})
    if not is_max:
        params[6] = include
    ctx.layer(kind, [src], [name], params)


@ncnn_op("GlobalAveragePool", "GlobalMaxPool")
def global_pool(ctx, node):
    x = node.inputs[0]
    dims = ctx.dims(x)
    if len(dims) != 3:
        ctx.refuse(f"global pooling of a {len(dims) - 1}-D input (2-D here)")
    value = node.outputs[0]
    flat_only = only_flattened(value)
    pooled = value.name if flat_only else f"{value.name}_pooled"
    ctx.layer("Pooling", [ctx.blob(x)], [pooled], {0: 0 if node.op_type == "GlobalMaxPool" else 1, 4: 1})
    if not flat_only:
        ctx.layer("Reshape", [pooled], [value.name], {0: 1, 1: 1, 2: dims[0]})
