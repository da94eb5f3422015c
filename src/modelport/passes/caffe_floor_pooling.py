"""Rewrite floor pooling as Caffe's ceil pooling followed by a crop of the extra row/column.

Rule: a 2-D ``MaxPool``/``AveragePool`` with ``ceil_mode=0`` (MXNet ``'valid'``, PyTorch's
default), static input shape, no dilation and no read indices output, whose floor output
size differs from Caffe's (ceil) output size along H or W, becomes the same pool with
``ceil_mode=1`` followed by ``Slice(starts=0, ends=floor size)`` on the axes that differ.
Padding is never changed (that would change the numbers, PITFALLS 16). First, an
``auto_pad`` SAME_UPPER/SAME_LOWER/VALID is replaced by the explicit pads ONNX defines for
it at the static input size (the same computation, so the same values). Pads must be
symmetric, except that a MaxPool may pad more at the end (TF's SAME): Caffe pads with
the start padding, and a max window is clipped to the input either way.

Math, per spatial axis with input ``n``, kernel ``k``, stride ``s``, pad ``p``:

    floor:  f = floor((n + 2p - k) / s) + 1
    Caffe:  c = ceil((n + 2p - k) / s) + 1, minus 1 when (c - 1) * s >= n + p
            (no window may start in the right padding)

so ``c`` is ``f`` or ``f + 1``. Output ``i`` of a pooling is a function of the window
starting at ``i * s - p`` alone, whatever the rounding mode: windows ``0 .. f-1`` are the
same in both, and ceil pooling's extra window ``f`` (the only one that may be clipped by
the input's end) is what the Slice removes. For averages, windows ``0 .. f-1`` lie inside
the padded input, so Caffe's divisor (the window clipped to the padded input) is
``k_h * k_w`` for them, the same as ``count_include_pad=1``; ``count_include_pad=0``
with padding is refused by the Caffe writer, not here.

Names: the Slice's output keeps the pool's output name (the tensor the source engine
reports, with the same values); the ceil pool's output is new (``<name>__ceil``), so
nothing is recorded in the provenance. Only the main graph is rewritten.
"""
from __future__ import annotations

import math

import numpy as np
import onnx_ir as ir

from modelport.passes._base import NodeRewritePass
from modelport.passes._channels import _unique_name


def caffe_ceil_size(size: int, kernel: int, stride: int, pad: int) -> int:
    out = int(math.ceil((size + 2 * pad - kernel) / stride)) + 1
    if pad > 0 and (out - 1) * stride >= size + pad:
        out -= 1
    return out


def _int64(graph: ir.Graph, base: str, array) -> ir.Value:
    name = _unique_name(graph, base)
    array = np.asarray(array, np.int64)
    value = ir.Value(name=name, shape=ir.Shape(array.shape), type=ir.TensorType(ir.DataType.INT64),
                     const_value=ir.Tensor(array, name=name))
    graph.register_initializer(value)
    return value


def _ints(node: ir.Node, name: str, default):
    attr = node.attributes.get(name)
    return tuple(default) if attr is None else tuple(attr.as_ints())


def _explicit_pads(node: ir.Node, in_dims, kernel, strides) -> tuple | None:
    """ONNX's own pads for ``auto_pad`` SAME_UPPER/SAME_LOWER at a static input size:
    ``total = max((ceil(n / s) - 1) * s + k - n, 0)``, the odd one at the end (UPPER) or
    the start (LOWER)."""
    mode = node.attributes["auto_pad"].as_string()
    begin, end = [], []
    for n, k, s in zip(in_dims, kernel, strides):
        total = max((-(-n // s) - 1) * s + k - n, 0)
        small = total // 2
        begin.append(small if mode == "SAME_UPPER" else total - small)
        end.append(total - small if mode == "SAME_UPPER" else small)
    return (*begin, *end)


def _plan(node: ir.Node):
    """``(ceil sizes, floor sizes, explicit pads or None)`` for a floor pool Caffe would size
    differently, or whose auto_pad must become explicit pads; else None."""
    if node.domain != "" or node.op_type not in ("MaxPool", "AveragePool"):
        return None
    if node.attributes.get("ceil_mode") is not None and node.attributes["ceil_mode"].as_int():
        return None
    if len(node.outputs) > 1 and (node.outputs[1].uses() or node.outputs[1].is_graph_output()):
        return None
    x = node.inputs[0]
    dims = [None if x.shape is None else x.shape.dims]
    if dims[0] is None or len(dims[0]) != 4 or not all(isinstance(v, int) for v in dims[0]):
        return None
    kernel = _ints(node, "kernel_shape", ())
    strides = _ints(node, "strides", (1, 1))
    if len(kernel) != 2 or any(d != 1 for d in _ints(node, "dilations", (1, 1))):
        return None
    auto_pad = node.attributes.get("auto_pad")
    auto = "NOTSET" if auto_pad is None else auto_pad.as_string()
    explicit = None
    if auto in ("SAME_UPPER", "SAME_LOWER"):
        explicit = pads = _explicit_pads(node, dims[0][2:], kernel, strides)
    elif auto == "VALID":
        explicit = pads = (0, 0, 0, 0)
    else:
        pads = _ints(node, "pads", (0, 0, 0, 0))
    # Caffe pads symmetrically with the start padding; MaxPool may have more at the end
    # (windows are clipped to the input either way), AveragePool may not.
    if pads[:2] != pads[2:] and (node.op_type != "MaxPool" or any(b > e for b, e in zip(pads[:2], pads[2:]))):
        return (None, None, explicit) if explicit is not None else None
    floor = tuple((n + b + e - k) // s + 1 for n, k, s, b, e in zip(dims[0][2:], kernel, strides, pads[:2], pads[2:]))
    ceil = tuple(caffe_ceil_size(n, k, s, p) for n, k, s, p in zip(dims[0][2:], kernel, strides, pads[:2]))
    if any(c < f for c, f in zip(ceil, floor)):
        return (None, None, explicit) if explicit is not None else None
    if ceil == floor:
        return (None, None, explicit) if explicit is not None else None
    return ceil, floor, explicit


class CaffeFloorPoolingPass(NodeRewritePass):
    """Floor pooling -> ceil pooling + Slice of the extra row/column (see module doc)."""

    def rewrite(self, model: ir.Model, node: ir.Node) -> bool:
        plan = _plan(node)
        if plan is None:
            return False
        ceil, floor, explicit = plan
        if explicit is not None:
            node.attributes.pop("auto_pad", None)
            node.attributes["pads"] = ir.AttrInt64s("pads", list(explicit))
        if ceil is None:
            return explicit is not None
        graph = model.graph
        y = node.outputs[0]
        axes = [a for a, (c, f) in zip((2, 3), zip(ceil, floor)) if c != f]
        name = y.name
        node.attributes["ceil_mode"] = ir.AttrInt64("ceil_mode", 1)
        n, c = node.inputs[0].shape.dims[:2]
        out = ir.Value(name=None, shape=ir.Shape([n, c, *floor]), type=y.type or node.inputs[0].type)
        y.replace_all_uses_with(out, replace_graph_outputs=True)
        consts = [_int64(graph, f"{name}__crop_{base}", array) for base, array in
                  (("starts", [0] * len(axes)), ("ends", [floor[a - 2] for a in axes]), ("axes", axes))]
        crop = ir.Node("", "Slice", [y, *consts], outputs=[out], name=f"{name}__crop")
        graph.insert_after(node, [crop])
        y.name = f"{name}__ceil"
        y.shape = ir.Shape([n, c, *ceil])
        out.name = name
        return True
