"""Layout ops: Flatten, Reshape, Transpose -> Permute, Concat, Slice/Split -> Slice.

Shapes are static in a Caffe conversion, so Reshape (and Flatten other than at axis 1,
whose ONNX output folds the leading axes too) is written with the full output shape.
A Slice with step 1 becomes a Caffe Slice along each sliced axis in turn; the parts it
cuts off are extra tops ``<out>__cut<n>`` that nothing reads.
"""
from __future__ import annotations

import numpy as np

from modelport.backends.caffe.ops import Unsupported, emitter


def _reshape(net, x, out: str, shape) -> None:
    layer = net.layer("Reshape", [x], out)
    layer.reshape_param.shape.dim.extend(int(d) for d in shape)


@emitter("Flatten")
def flatten(net, node) -> None:
    shape = net.shape(node.inputs[0])
    axis = int(net.attr(node, "axis", 1)) % max(len(shape), 1)
    if axis == 1:
        net.layer("Flatten", [node.inputs[0]], node.outputs[0].name)
    else:
        _reshape(net, node.inputs[0], node.outputs[0].name, net.shape(node.outputs[0]))


@emitter("Reshape", "Squeeze", "Unsqueeze")
def reshape(net, node) -> None:
    _reshape(net, node.inputs[0], node.outputs[0].name, net.shape(node.outputs[0]))


@emitter("Transpose")
def transpose(net, node) -> None:
    rank = len(net.shape(node.inputs[0]))
    perm = [int(p) for p in net.attr(node, "perm", list(reversed(range(rank))))]
    layer = net.layer("Permute", [node.inputs[0]], node.outputs[0].name)
    layer.permute_param.order.extend(perm)


@emitter("Concat")
def concat(net, node) -> None:
    rank = len(net.shape(node.outputs[0]))
    layer = net.layer("Concat", list(node.inputs), node.outputs[0].name)
    layer.concat_param.axis = int(net.attr(node, "axis")) % rank


def _slice_axis(net, x, out: str, axis: int, start: int, end: int, size: int) -> None:
    points = [p for p in (start, end) if 0 < p < size]
    tops, kept = [], None
    bounds = [0, *points, size]
    for i in range(len(bounds) - 1):
        if bounds[i] == start and bounds[i + 1] == end:
            kept = len(tops)
            tops.append(out)
        else:
            tops.append(f"{out}__cut{i}")
    if kept is None:
        raise Unsupported("empty slice")
    if len(tops) == 1:  # nothing cut along this axis
        raise AssertionError("caller skips whole-axis slices")
    layer = net.layer("Slice", [x], tops, name=tops[0])
    layer.slice_param.axis = axis
    layer.slice_param.slice_point.extend(points)


@emitter("Slice")
def slice_(net, node) -> None:
    shape = net.shape(node.inputs[0])
    starts = net.need_const(node.inputs[1], "starts").astype(np.int64).tolist()
    ends = net.need_const(node.inputs[2], "ends").astype(np.int64).tolist()
    axes = (net.need_const(node.inputs[3], "axes").astype(np.int64).tolist()
            if len(node.inputs) > 3 and node.inputs[3] is not None else list(range(len(starts))))
    steps = (net.need_const(node.inputs[4], "steps").astype(np.int64).tolist()
             if len(node.inputs) > 4 and node.inputs[4] is not None else [1] * len(starts))
    if any(s != 1 for s in steps):
        raise Unsupported("Slice with a step other than 1")
    cuts = []
    for start, end, axis in zip(starts, ends, axes):
        axis %= len(shape)
        size = shape[axis]
        start = max(0, min(size, start + size if start < 0 else start))
        end = max(0, min(size, end + size if end < 0 else end))
        if (start, end) != (0, size):
            cuts.append((axis, start, end, size))
    out = node.outputs[0].name
    if not cuts:
        _reshape(net, node.inputs[0], out, shape)  # a copy
        return
    x = node.inputs[0].name
    for n, (axis, start, end, size) in enumerate(cuts):
        top = out if n == len(cuts) - 1 else f"{out}__axis{axis}"
        _slice_axis(net, x, top, axis, start, end, size)
        x = top


@emitter("Split")
def split(net, node) -> None:
    shape = net.shape(node.inputs[0])
    axis = int(net.attr(node, "axis", 0)) % len(shape)
    sizes = [net.shape(v)[axis] for v in node.outputs]
    points = np.cumsum(sizes)[:-1].tolist()
    layer = net.layer("Slice", [node.inputs[0]], [v.name for v in node.outputs])
    layer.slice_param.axis = axis
    layer.slice_param.slice_point.extend(int(p) for p in points)
