"""Lower ``modelport:BoxNMS`` (MXNet's _contrib_box_nms, semantics in
``frontends/mxnet/ops/box_nms.py``) to standard ONNX ops that onnxruntime runs, giving
MXNet's output row for row: the kept rows in descending score order, then rows of -1;
and the record output when something reads it. N (boxes per batch) may be symbolic.

Rule and math (B = the product of the leading axes, N rows of W values; N and W may be symbolic):

    x = Reshape(data, (-1, N, W))
    valid = score > valid_thresh [and id != background_id when id_index >= 0]
    order = TopK(largest) of where(valid, score, -inf), first k = min(N, topk) kept when
            topk > 0 (Slice): ONNX TopK gives equal values in index order, MXNet's CPU
            SortByKey is std::stable_sort: the same order, ties included
    rows = x gathered by order (B, k, W); active = pos < count(valid)
    keep = greedy NMS over the active rows in that order (``greedy_keep``, ONNX
           NonMaxSuppression, visiting order forced by its scores), IoU > overlap_thresh
           (strict, ONNX's own rule: inclusive=False)
    out = kept rows packed to the front (TopK(smallest) of pos + k * not keep), then -1;
          formats converted where the first coordinate is not < 0; Pad with -1 rows from
          k to N; Reshape to data's shape
    record = b * N + the kept row's index, -1 after them (Pad, Reshape to (..., N, 1))
    topk = 0: out = data (Identity), record = 0 .. B*N-1: the kernel's copy-through

Where ONNX's NonMaxSuppression differs from MXNet's kernel, and what is done about it:

- Tie order: NonMaxSuppression visits boxes by descending score with an engine-defined
  order among equal scores. ``greedy_keep`` gives it the scores k - pos, all distinct, so
  it visits the rows exactly in the stable-sorted order above.
- Strictness: both suppress at IoU > t: greedy_keep(..., inclusive=False) passes t as is.
  t >= 1 suppresses nothing in MXNet (IoU <= 1 in float32 too: i <= min(area) and
  fl(a + b) >= 2i): no NonMaxSuppression node (onnxruntime rejects t > 1). t < 0 is
  refused by the converter (MXNet then suppresses boxes that do not even overlap).
- IoU arithmetic: onnxruntime computes, for corner boxes, i = (min(r) - max(l)) *
  (min(b) - max(t)) and u = area_1 + area_2 - i with area = (r - l) * (b - t): MXNet's
  float32 operations exactly (the boxes are passed as (x1, y1, x2, y2) where ONNX reads
  (y1, x1, y2, x2); each product only swaps its factors). Corner-format inputs therefore
  give MXNet's suppression decisions exactly.
- Degenerate boxes: onnxruntime sorts each box's corners (a box with x2 < x1 becomes a
  proper box); MXNet's Intersect gives such a box no overlap with anything, and its area
  0. Boxes with r < l or b < t are given to NonMaxSuppression as (0, 0, 0, 0), which
  onnxruntime neither suppresses with nor suppresses (zero area): MXNet's outcome.
  Zero-width boxes and 0 / 0 IoUs suppress nothing in either.
- Center format: onnxruntime's center_point_box computes the same edges x -+ w / 2 as
  MXNet, but its area is (r - l) * (b - t) where MXNet's is w * h. Center boxes are
  converted to corners (MXNet's own edge arithmetic, then handled as above); the areas
  can still differ in the last bit when x -+ w / 2 rounds, so a center-format IoU within
  an ulp or two of overlap_thresh may be decided the other way. This is the one
  inexactness (never with coordinates that x -+ w / 2 represents exactly).
- Classes: MXNet compares ``(int) id`` (truncation; ONNX Cast to int32 truncates too).
  The classes are not known in advance, so each batch's active rows are split by a
  dense class rank (TopK of the ids, a CumSum of changes, scattered back) into D
  virtual batches of k rows (B * D batches, D = the largest number of distinct classes
  in a batch, plus one for the inactive rows), suppressed across classes within each
  (greedy_keep with no classes) and merged (a row is kept in its own class's batch).
  NaN or out-of-int32-range ids are not pinned to MXNet.

Names: ``out`` and ``record`` keep the BoxNMS node's output names; the rest are
``{out}__{op}{k}``. Nothing is absorbed (the input survives as it is).
"""
from __future__ import annotations

import numpy as np
import onnx_ir as ir

from modelport.ir.contract import PRIVATE_DOMAIN
from modelport.passes._base import NodeRewritePass
from modelport.passes.lower_multibox_detection import _Emit, attribute, greedy_keep

I64, F32 = np.int64, np.float32
# MXNet's defaults, for a node written without some attribute (the converter writes them all)
DEFAULTS = dict(overlap_thresh=0.5, valid_thresh=0.0, topk=-1, coord_start=2, score_index=1, id_index=-1,
                background_id=-1, force_suppress=0, in_format="corner", out_format="corner")


def _gather(e: _Emit, rows: ir.Value, order: ir.Value) -> ir.Value:
    """rows (B, M, W) gathered along axis 1 by order (B, K): (B, K, W)."""
    shape = e("Concat", [e("Shape", [order]), e("Shape", [rows], {"start": 2, "end": 3})], {"axis": 0})
    return e("GatherElements", [rows, e("Expand", [e("Unsqueeze", [order, e.ints([2])]), shape])], {"axis": 1})


def _columns(e: _Emit, rows: ir.Value, start: int, stop: int) -> ir.Value:
    return e("Slice", [rows, e.ints([start]), e.ints([stop]), e.ints([2])])


def _column(e: _Emit, rows: ir.Value, index: int) -> ir.Value:
    """Column ``index`` of (B, K, W): (B, K)."""
    return e("Squeeze", [_columns(e, rows, index, index + 1), e.ints([2])])


def _half_extents(e: _Emit, box: ir.Value):
    """(x, y, w / 2, h / 2) of center boxes (B, K, 4), each (B, K, 1)."""
    x, y, w, h = e("Split", [box, e.ints([1, 1, 1, 1])], {"axis": 2}, 4)
    two = e.const(F32(2))
    return x, y, e("Div", [w, two]), e("Div", [h, two])


def _to_corner(e: _Emit, box: ir.Value) -> ir.Value:
    x, y, hw, hh = _half_extents(e, box)
    return e("Concat", [e("Sub", [x, hw]), e("Sub", [y, hh]), e("Add", [x, hw]), e("Add", [y, hh])], {"axis": 2})


def _to_center(e: _Emit, box: ir.Value) -> ir.Value:
    left, top, right, bottom = e("Split", [box, e.ints([1, 1, 1, 1])], {"axis": 2}, 4)
    two = e.const(F32(2))
    return e("Concat", [e("Div", [e("Add", [left, right]), two]), e("Div", [e("Add", [top, bottom]), two]),
                        e("Sub", [right, left]), e("Sub", [bottom, top])], {"axis": 2})


def _nms_boxes(e: _Emit, box: ir.Value, center: bool) -> ir.Value:
    """Corner boxes for NonMaxSuppression, degenerate ones (r < l or b < t) as zeros (module doc)."""
    corner = _to_corner(e, box) if center else box
    left, top, right, bottom = e("Split", [corner, e.ints([1, 1, 1, 1])], {"axis": 2}, 4)
    flipped = e("Or", [e("Less", [right, left]), e("Less", [bottom, top])])                # (B, K, 1)
    return e("Where", [flipped, e.const(F32(0)), corner])


def _classwise_keep(e: _Emit, boxes: ir.Value, classes: ir.Value, active: ir.Value, threshold: float) -> ir.Value:
    """greedy_keep within each class, the classes any int64 values: one virtual batch per class (module doc)."""
    count_k = e("Shape", [classes], {"start": 1, "end": 2})                                 # [K]
    count_b = e("Shape", [classes], {"start": 0, "end": 1})                                 # [B]
    masked = e("Where", [active, classes, e.const(I64(np.iinfo(I64).min), I64)])
    ranked, where = e("TopK", [masked, count_k], {"axis": 1, "largest": 0, "sorted": 1}, 2)
    last = e.const(np.asarray([np.iinfo(I64).max], I64), I64)
    changed = e("Not", [e("Equal", [e("Slice", [ranked, e.ints([1]), last, e.ints([1])]),
                                     e("Slice", [ranked, e.ints([0]), e.ints([-1]), e.ints([1])])])])
    first = e("Expand", [e.const(np.zeros((1, 1), bool), bool), e("Concat", [count_b, e.ints([1])], {"axis": 0})])
    steps = e("Cast", [e("Concat", [first, changed], {"axis": 1})], {"to": ir.DataType.INT64})
    rank_sorted = e("CumSum", [steps, e.const(I64(1), I64)])                                # (B, K)
    dense = e("ScatterElements", [e("Expand", [e.const(I64(0), I64), e("Shape", [classes])]), where, rank_sorted],
              {"axis": 1})
    slots = e("Add", [e("ReduceMax", [rank_sorted], {"keepdims": 0}), e.const(I64(1), I64)])
    count_d = e("Unsqueeze", [slots, e.ints([0])])                                         # [D]
    ids = e("Unsqueeze", [e("Range", [e.const(I64(0), I64), slots, e.const(I64(1), I64)]), e.ints([0, 2])])
    mine = e("And", [e("Unsqueeze", [active, e.ints([1])]), e("Equal", [e("Unsqueeze", [dense, e.ints([1])]), ids])])
    flat = e("Concat", [e.ints([-1]), count_k], {"axis": 0})
    spread = e("Concat", [count_b, count_d, count_k, e.ints([4])], {"axis": 0})
    boxes_v = e("Reshape", [e("Expand", [e("Unsqueeze", [boxes, e.ints([1])]), spread]),
                            e("Concat", [flat, e.ints([4])], {"axis": 0})])
    keep_v = greedy_keep(e, boxes_v, None, e("Reshape", [mine, flat]), 1, threshold, inclusive=False)
    per_class = e("Reshape", [e("Cast", [keep_v], {"to": ir.DataType.INT32}),
                              e("Concat", [count_b, e.ints([-1]), count_k], {"axis": 0})])
    return e("Cast", [e("ReduceMax", [per_class], {"axes": [1], "keepdims": 0})], {"to": ir.DataType.BOOL})


def _convert_format(e: _Emit, rows: ir.Value, start: int, to_center: bool) -> ir.Value:
    """MXNet's corner_to_center / center_to_corner on rows (B, K, W) whose first coordinate is not < 0."""
    box = _columns(e, rows, start, start + 4)
    converted = _to_center(e, box) if to_center else _to_corner(e, box)
    todo = e("Not", [e("Less", [_columns(e, rows, start, start + 1), e.const(F32(0))])])  # (B, K, 1)
    parts = [_columns(e, rows, 0, start)] if start > 0 else []
    parts += [e("Where", [todo, converted, box]), _columns(e, rows, start + 4, np.iinfo(I64).max)]  # tail may be empty
    return e("Concat", parts, {"axis": 2})


def _used(graph: ir.Graph, value: ir.Value) -> bool:
    return bool(value.uses()) or value in graph.outputs


class LowerBoxNMSPass(NodeRewritePass):
    """modelport:BoxNMS -> ONNX ops (see module doc)."""

    def rewrite(self, model: ir.Model, node: ir.Node) -> bool:
        if node.domain != PRIVATE_DOMAIN or node.op_type != "BoxNMS":
            return False
        (data,) = node.inputs
        graph = model.graph
        out, record = node.outputs
        want_record = _used(graph, record)
        e = _Emit(out.name)
        new_out, new_record = self._lower(e, node, data, want_record)
        e.replace(graph, node, [(out, new_out)] + ([(record, new_record)] if want_record else []))
        return True

    @staticmethod
    def _lower(e: _Emit, node: ir.Node, data: ir.Value, want_record: bool):
        get = lambda key: attribute(node, key, DEFAULTS[key])  # noqa: E731
        topk, start, score_index, id_index = (int(get(k)) for k in ("topk", "coord_start", "score_index", "id_index"))
        threshold = float(get("overlap_thresh"))
        in_format, out_format = get("in_format"), get("out_format")
        record_shape = lambda: e("Concat", [e("Shape", [data], {"start": 0, "end": -1}), e.ints([1])],  # noqa: E731
                                 {"axis": 0})
        if topk == 0:  # the kernel's copy-through
            if not want_record:
                return e("Identity", [data]), None
            total = e("ReduceProd", [e("Shape", [data], {"start": 0, "end": -1})], {"keepdims": 0})
            index = e("Range", [e.const(I64(0), I64), total, e.const(I64(1), I64)])
            return e("Identity", [data]), e("Reshape", [e("Cast", [index], {"to": ir.DataType.FLOAT}), record_shape()])
        x = e("Reshape", [data, e("Concat", [e.ints([-1]), e("Shape", [data], {"start": -2})], {"axis": 0})])
        count_n = e("Shape", [x], {"start": 1, "end": 2})
        minus_one = e.const(F32(-1))

        score = _column(e, x, score_index)
        valid = e("Greater", [score, e.const(F32(get("valid_thresh")))])
        if id_index >= 0:
            background = e("Equal", [_column(e, x, id_index), e.const(F32(int(get("background_id"))))])
            valid = e("And", [valid, e("Not", [background])])
        ranked = e("Where", [valid, score, e.const(F32(-np.inf))])
        order = e("TopK", [ranked, count_n], {"axis": 1, "largest": 1, "sorted": 1}, 2)[1]     # (B, N)
        if topk > 0:
            order = e("Slice", [order, e.ints([0]), e.ints([topk]), e.ints([1])])             # (B, K)
        rows = _gather(e, x, order)                                                         # (B, K, W)
        count_k = e("Shape", [order], {"start": 1, "end": 2})
        pos = e("Unsqueeze", [e("Range", [e.const(I64(0), I64), e("Squeeze", [count_k, e.ints([0])]),
                                          e.const(I64(1), I64)]), e.ints([0])])             # (1, K)
        count = e("ReduceSum", [e("Cast", [valid], {"to": ir.DataType.INT64}), e.ints([1])], {"keepdims": 1})
        active = e("Less", [pos, count])                                                    # (B, K)

        if 0 <= threshold < 1:
            boxes = _nms_boxes(e, _columns(e, rows, start, start + 4), in_format == "center")
            if id_index >= 0 and not int(get("force_suppress")):
                classes = e("Cast", [e("Cast", [_column(e, rows, id_index)], {"to": ir.DataType.INT32})],
                            {"to": ir.DataType.INT64})
                keep = _classwise_keep(e, boxes, classes, active, threshold)
            else:
                keep = greedy_keep(e, boxes, None, active, 1, threshold, inclusive=False)
        else:
            keep = active
        key = e("Add", [pos, e("Mul", [e("Cast", [e("Not", [keep])], {"to": ir.DataType.INT64}), count_k])])
        front = e("TopK", [key, count_k], {"axis": 1, "largest": 0, "sorted": 1}, 2)[1]    # (B, K)
        kept = e("ReduceSum", [e("Cast", [keep], {"to": ir.DataType.INT64}), e.ints([1])], {"keepdims": 1})
        filled = e("Less", [pos, kept])                                                     # (B, K)
        body = e("Where", [e("Unsqueeze", [filled, e.ints([2])]), _gather(e, rows, front), minus_one])
        if in_format != out_format:
            body = _convert_format(e, body, start, out_format == "center")
        rest = e("Sub", [count_n, count_k]) if topk > 0 else None                         # [N - K]
        if rest is not None:  # rows K..N-1: -1 (pads: the begins of axes 0-2, then their ends)
            body = e("Pad", [body, e("Concat", [e.ints([0, 0, 0, 0]), rest, e.ints([0])], {"axis": 0}), minus_one])
        out = e("Reshape", [body, e("Shape", [data])])
        if not want_record:
            return out, None
        source = e("GatherElements", [order, front], {"axis": 1})                           # (B, K)
        count_b = e("Shape", [x], {"start": 0, "end": 1})
        first = e("Mul", [e("Unsqueeze", [e("Range", [e.const(I64(0), I64), e("Squeeze", [count_b, e.ints([0])]),
                                                       e.const(I64(1), I64)]), e.ints([1])]), count_n])
        index = e("Cast", [e("Add", [source, first])], {"to": ir.DataType.FLOAT})
        record = e("Where", [filled, index, minus_one])
        if rest is not None:
            record = e("Pad", [record, e("Concat", [e.ints([0, 0, 0]), rest], {"axis": 0}), minus_one])
        return out, e("Reshape", [record, record_shape()])
