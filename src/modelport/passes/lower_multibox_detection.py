"""Lower ``modelport:MultiBoxDetection`` (MXNet's SSD detection head, semantics in
``frontends/mxnet/ops/detection.py``) to standard ONNX ops that onnxruntime runs, giving
MXNet's output tensor row for row: detections in descending score order, suppressed rows
with class id -1, the same padding.

Rule and math, per image (N images at once; A anchors may be symbolic):

    fg = cls_prob[:, 1:]                       (N, C-1, A)
    score = ReduceMax(fg), cls = ArgMax(fg)    ArgMax keeps the first of equal maxima
    valid = score > -1 and score >= threshold
    box = decode(loc, anchor)                  the kernel's float32 operation order, Clip
    rows = (cls, score, box)                   (N, A, 6)
    packed = rows in the order TopK(smallest) of key = a + A * (not valid)  (anchor order,
             valid first); count = sum(valid)
    sorted = rows in the order TopK(largest) of where(valid, score, -inf)   ONNX TopK keeps
             equal values in index order: the kernel's stable sort
    nkeep = min(count, nms_topk)  (count when nms_topk <= 0); active = pos < nkeep
    keep = NonMaxSuppression over sorted's boxes with per-class scores (one class with
           force_suppress): the score given is A - pos, so every engine visits the
           rows in exactly the sorted order whatever its tie rule; inactive rows and
           other classes get 0 and score_threshold 0 drops them;
           iou_threshold = the float32 just below nms_threshold, because ONNX suppresses
           at IoU > t and MXNet at IoU >= t (onnxruntime's IoU is MXNet's formula:
           intersection w*h, union area_a + area_b - i, no suppression when u <= 0)
    out[pos] = sorted row, id -1 unless kept            pos < nkeep
               packed row with id -1                    nkeep <= pos < count
               -1                                       count <= pos
With nms_threshold outside (0, 1] the kernel skips the sort: out = packed rows, then -1.

Names: the last node takes the detection node's output name; the rest are
``{name}__{op}{k}``. Nothing is absorbed (the inputs survive as they are).
"""
from __future__ import annotations

import numpy as np
import onnx_ir as ir

from modelport.ir.builder import Builder
from modelport.ir.contract import PRIVATE_DOMAIN
from modelport.passes._base import NodeRewritePass

I64, F32 = np.int64, np.float32


def attribute(node: ir.Node, name: str, default):
    """The node's attribute ``name`` as a Python value (``default`` when absent)."""
    attr = node.attributes.get(name)
    return default if attr is None else attr.value


class _Emit:
    """Nodes and constants for one lowering, named after the replaced output."""

    def __init__(self, name: str):
        self.builder, self.name = Builder(), name

    def __call__(self, op: str, inputs: list, attributes: dict | None = None, outputs: int = 1):
        values = self.builder.emit(op, inputs, attributes, self.name, outputs)
        return values[0] if outputs == 1 else values

    def const(self, value, dtype=F32) -> ir.Value:
        return self.builder.const(np.asarray(value, dtype), f"{self.name}__c", dtype)

    def ints(self, values) -> ir.Value:
        return self.const(np.asarray(values, I64).reshape(-1), I64)

    def replace(self, graph: ir.Graph, node: ir.Node, pairs: list[tuple[ir.Value, ir.Value]]) -> None:
        """Put the emitted nodes in ``node``'s place: each (old output, new value) pair's new value
        takes the old one's readers and name."""
        for value in self.builder.initializers.values():
            graph.register_initializer(value)
        for old, new in pairs:
            old.replace_all_uses_with(new, replace_graph_outputs=True)
        graph.insert_after(node, self.builder.nodes)
        graph.remove(node, safe=True)
        for old, new in pairs:
            name, old.name = old.name, None
            new.name = name


def _decode(e: _Emit, loc: ir.Value, anchor: ir.Value, variances, clip: bool) -> ir.Value:
    """(N, A, 4) boxes (module doc), from loc (N, A*4) and anchor (1, A, 4)."""
    four = e.ints([0, -1, 4])
    al, at, ar, ab = e("Split", [e("Reshape", [anchor, four]), e.ints([1, 1, 1, 1])], {"axis": 2}, 4)
    px, py, pw, ph = e("Split", [e("Reshape", [loc, four]), e.ints([1, 1, 1, 1])], {"axis": 2}, 4)
    vx, vy, vw, vh = (e.const(F32(v)) for v in variances)
    two = e.const(F32(2))
    aw, ah = e("Sub", [ar, al]), e("Sub", [ab, at])
    ax, ay = e("Div", [e("Add", [al, ar]), two]), e("Div", [e("Add", [at, ab]), two])
    ox = e("Add", [e("Mul", [e("Mul", [px, vx]), aw]), ax])
    oy = e("Add", [e("Mul", [e("Mul", [py, vy]), ah]), ay])
    ow = e("Div", [e("Mul", [e("Exp", [e("Mul", [pw, vw])]), aw]), two])
    oh = e("Div", [e("Mul", [e("Exp", [e("Mul", [ph, vh])]), ah]), two])
    box = e("Concat", [e("Sub", [ox, ow]), e("Sub", [oy, oh]), e("Add", [ox, ow]), e("Add", [oy, oh])], {"axis": 2})
    return e("Clip", [box, e.const(F32(0)), e.const(F32(1))]) if clip else box


def _gather_rows(e: _Emit, rows: ir.Value, order: ir.Value) -> ir.Value:
    """rows (N, A, 6) reordered along A by order (N, A)."""
    index = e("Expand", [e("Unsqueeze", [order, e.ints([2])]), e("Shape", [rows])])
    return e("GatherElements", [rows, index], {"axis": 1})


def greedy_keep(e: _Emit, boxes: ir.Value, classes: ir.Value | None, active: ir.Value,
                num_classes: int, iou_threshold: float, inclusive: bool = True) -> ir.Value:
    """(N, A) bool: which of ``boxes`` (N, A, 4, already in visiting order) greedy NMS keeps
    among the ``active`` ones, suppressing at IoU >= ``iou_threshold`` within a class
    (``classes`` (N, A) int64 in [0, num_classes)) or across classes (``classes`` None);
    at IoU > ``iou_threshold`` (ONNX's own rule) when not ``inclusive``."""
    count = e("Shape", [boxes], {"start": 1, "end": 2})
    pos = e("Range", [e.const(I64(0), I64), e("Squeeze", [count, e.ints([0])]), e.const(I64(1), I64)])
    rank = e("Sub", [e("Cast", [count], {"to": ir.DataType.FLOAT}), e("Cast", [pos], {"to": ir.DataType.FLOAT})])
    zero = e.const(F32(0))
    score = e("Where", [active, e("Unsqueeze", [rank, e.ints([0])]), zero])              # (N, A)
    if classes is None:
        scores = e("Unsqueeze", [score, e.ints([1])])                                      # (N, 1, A)
    else:
        ids = e.const(np.arange(num_classes, dtype=I64).reshape(1, -1, 1), I64)
        mine = e("Equal", [e("Unsqueeze", [classes, e.ints([1])]), ids])                   # (N, C, A)
        scores = e("Where", [mine, e("Unsqueeze", [score, e.ints([1])]), zero])
    below = np.nextafter(F32(iou_threshold), F32(0)) if inclusive else F32(iou_threshold)
    picked = e("NonMaxSuppression", [boxes, scores, e.const(I64(2**31 - 1), I64), e.const(below), zero])
    where = e("Gather", [picked, e.ints([0, 2])], {"axis": 1})                            # (M, 2): image, row
    ones = e("Expand", [e.const(np.ones(1, bool), bool), e("Shape", [picked], {"start": 0, "end": 1})])
    blank = e("Expand", [e.const(np.zeros(1, bool), bool), e("Shape", [active])])
    return e("ScatterND", [blank, where, ones])


class LowerMultiBoxDetectionPass(NodeRewritePass):
    """modelport:MultiBoxDetection -> ONNX ops (see module doc)."""

    def rewrite(self, model: ir.Model, node: ir.Node) -> bool:
        if node.domain != PRIVATE_DOMAIN or node.op_type != "MultiBoxDetection":
            return False
        cls_prob, loc, anchor = node.inputs
        y = node.outputs[0]
        e = _Emit(y.name)
        e.replace(model.graph, node, [(y, self._lower(e, node, cls_prob, loc, anchor))])
        return True

    @staticmethod
    def _lower(e: _Emit, node: ir.Node, cls_prob, loc, anchor) -> ir.Value:
        get = lambda key, default: attribute(node, key, default)  # noqa: E731
        classes = cls_prob.shape[1] if cls_prob.shape is not None else None
        if not isinstance(classes, int):
            raise ValueError(f"{node.name}: the number of classes (cls_prob's axis 1) must be static")
        threshold, nms = float(get("threshold", 0.01)), float(get("nms_threshold", 0.5))
        fg = e("Slice", [cls_prob, e.ints([1]), e.ints([classes]), e.ints([1])])
        minus_one = e.const(F32(-1))
        if classes < 2:  # no foreground class: every row is -1, as the kernel writes
            shape = e("Concat", [e("Shape", [cls_prob], {"start": 0, "end": 1}),
                                 e("Shape", [cls_prob], {"start": 2, "end": 3}), e.ints([6])], {"axis": 0})
            return e("Expand", [minus_one, shape])
        score = e("ReduceMax", [fg], {"axes": [1], "keepdims": 0})                          # (N, A)
        best = e("ArgMax", [fg], {"axis": 1, "keepdims": 0, "select_last_index": 0})        # (N, A)
        valid = e("And", [e("Greater", [score, minus_one]), e("GreaterOrEqual", [score, e.const(F32(threshold))])])
        box = _decode(e, loc, anchor, get("variances", [0.1, 0.1, 0.2, 0.2]), bool(get("clip", 1)))
        column = lambda v: e("Unsqueeze", [v, e.ints([2])])  # noqa: E731
        rows = e("Concat", [column(e("Cast", [best], {"to": ir.DataType.FLOAT})), column(score), box], {"axis": 2})

        count_a = e("Shape", [score], {"start": 1, "end": 2})                               # [A]
        pos = e("Unsqueeze", [e("Range", [e.const(I64(0), I64), e("Squeeze", [count_a, e.ints([0])]),
                                          e.const(I64(1), I64)]), e.ints([0])])             # (1, A)
        invalid = e("Cast", [e("Not", [valid])], {"to": ir.DataType.INT64})
        key = e("Add", [pos, e("Mul", [invalid, count_a])])
        packed = _gather_rows(e, rows, e("TopK", [key, count_a], {"axis": 1, "largest": 0, "sorted": 1}, 2)[1])
        count = e("ReduceSum", [e("Cast", [valid], {"to": ir.DataType.INT64}), e.ints([1])], {"keepdims": 1})
        filled = column(e("Less", [pos, count]))                                            # (N, A, 1)
        if not 0 < nms <= 1:
            return e("Where", [filled, packed, minus_one])

        ranked = e("Where", [valid, score, e.const(F32(-np.inf))])
        order = e("TopK", [ranked, count_a], {"axis": 1, "largest": 1, "sorted": 1}, 2)[1]
        ordered = _gather_rows(e, rows, order)
        topk = int(get("nms_topk", -1))
        nkeep = e("Min", [count, e.const(np.asarray([[topk]], I64), I64)]) if topk > 0 else count
        active = e("Less", [pos, nkeep])                                                    # (N, A)
        boxes = e("Slice", [ordered, e.ints([2]), e.ints([6]), e.ints([2])])
        ids = e("Squeeze", [e("Slice", [ordered, e.ints([0]), e.ints([1]), e.ints([2])]), e.ints([2])])
        per_class = None if get("force_suppress", 0) else e("Cast", [ids], {"to": ir.DataType.INT64})
        keep = greedy_keep(e, boxes, per_class, active, classes - 1, nms)
        body = e("Where", [column(active), ordered, packed])
        rest = e("Slice", [body, e.ints([1]), e.ints([6]), e.ints([2])])
        ident = e("Where", [column(keep), e("Slice", [body, e.ints([0]), e.ints([1]), e.ints([2])]), minus_one])
        return e("Where", [filled, e("Concat", [ident, rest], {"axis": 2}), minus_one])
