"""Slices that cut one tensor into contiguous pieces along one axis become one Split.

Rule: ``Slice`` nodes of the main graph reading the same tensor ``x`` with constant
``starts``/``ends``/``axes`` on one and the same axis, steps absent or 1, whose ranges
(clamped to the static size ``n`` of that axis) tile ``[0, n)`` without gap or overlap
in some order, are replaced by one ``Split(x, split=sizes, axis)``. Exporters write box
and score heads this way (``x[:, 0:2]``, ``x[:, 2:4]``); targets then run one layer (ncnn's
Slice, Caffe's Slice) instead of one crop per piece plus a fan-out.

Math: for ranges ``[a_0, a_1), [a_1, a_2), ..., [a_{k-1}, n)`` with ``a_0 = 0``,
``Slice(x, a_i, a_{i+1}) = Split(x, [a_1 - a_0, ..., n - a_{k-1}])[i]``.

Names: every Slice output keeps its name on the matching Split output, so nothing is
absorbed and nothing is recorded.
"""
from __future__ import annotations

import numpy as np
import onnx_ir as ir

from modelport.ir.constants import const_array


def _range(node: ir.Node) -> tuple[int, int, int] | None:
    """``(axis, start, end)`` of a one-axis, step-1 Slice with constant bounds on a static axis."""
    if node.domain != "" or node.op_type != "Slice" or len(node.inputs) < 3:
        return None
    x = node.inputs[0]
    consts = [const_array(v) if v is not None else None for v in node.inputs[1:5]]
    starts, ends = consts[0], consts[1]
    axes = consts[2] if len(consts) > 2 and node.inputs[3] is not None else None
    steps = consts[3] if len(consts) > 3 and node.inputs[4] is not None else None
    if starts is None or ends is None or starts.size != 1 or ends.size != 1 or x.shape is None:
        return None
    if (len(node.inputs) > 3 and node.inputs[3] is not None and axes is None) or (axes is not None and axes.size != 1):
        return None
    if (len(node.inputs) > 4 and node.inputs[4] is not None) and (steps is None or int(steps.reshape(-1)[0]) != 1):
        return None
    rank = len(x.shape)
    axis = int(axes.reshape(-1)[0]) if axes is not None else 0
    axis = axis + rank if axis < 0 else axis
    size = x.shape.dims[axis] if 0 <= axis < rank else None
    if not isinstance(size, int):
        return None
    clamp = lambda v: min(max(v + size if v < 0 else v, 0), size)  # noqa: E731
    return axis, clamp(int(starts.reshape(-1)[0])), clamp(int(ends.reshape(-1)[0]))


class MergeSlicesPass(ir.passes.InPlacePass):
    """Contiguous one-axis Slices of one tensor -> one Split (see module doc)."""

    def call(self, model: ir.Model) -> ir.passes.PassResult:
        graph = model.graph
        groups: dict[tuple[int, int], list[tuple[int, int, ir.Node]]] = {}
        for node in graph:
            found = _range(node)
            if found is not None:
                axis, start, end = found
                groups.setdefault((id(node.inputs[0]), axis), []).append((start, end, node))
        modified = False
        for (_, axis), pieces in groups.items():
            pieces.sort(key=lambda p: p[0])
            x = pieces[0][2].inputs[0]
            edges = [p[0] for p in pieces] + [pieces[-1][1]]
            contiguous = all(p[1] == q[0] for p, q in zip(pieces, pieces[1:]))
            if len(pieces) < 2 or edges[0] != 0 or edges[-1] != x.shape.dims[axis] or not contiguous \
                    or any(end <= start for start, end, _ in pieces):
                continue
            sizes = [end - start for start, end, _ in pieces]
            split_sizes = ir.Value(name=f"{pieces[0][2].outputs[0].name}__split_sizes",
                                   const_value=ir.Tensor(np.asarray(sizes, np.int64)))
            split_sizes.shape, split_sizes.type = ir.Shape([len(sizes)]), ir.TensorType(ir.DataType.INT64)
            graph.register_initializer(split_sizes)
            split = ir.Node("", "Split", [x, split_sizes], {"axis": ir.AttrInt64("axis", axis)},
                            num_outputs=len(pieces), name=f"{pieces[0][2].outputs[0].name}__split")
            first = min((p[2] for p in pieces), key=lambda n: list(graph).index(n))
            graph.insert_before(first, split)
            for out, (_, _, node) in zip(split.outputs, pieces):
                old = node.outputs[0]
                out.shape, out.type = old.shape, old.type
                old.replace_all_uses_with(out, replace_graph_outputs=True)
                name = old.name
                graph.remove(node, safe=True)
                old.name = None
                out.name = name
            modified = True
        return ir.passes.PassResult(model, modified=modified)
