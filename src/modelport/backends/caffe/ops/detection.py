"""SSD's detection head: ``modelport:MultiBoxDetection`` (MXNet's semantics in
``frontends/mxnet/ops/detection.py``) -> a best-class mask + SSD's ``DetectionOutput``.

Rule, for cls_prob (N, C, A) (class 0 the background), loc_pred (N, A*4) and a constant
anchor (1, A, 4):

    priors   = Const (1, 2, A*4): the anchors, then the node's 4 variances per anchor
    p_c      = Slice(cls_prob, axis 1)                          c = 0 .. C-1, each (N, 1, A)
    best     = Eltwise MAX(p_1 .. p_{C-1})
    e_c      = Exp(S * (p_c - best))        S = 1e38: 1 exactly when p_c == best, else 0
    g_1      = e_1;  g_c = e_c * (1 - sum_{k<c} g_k)            the FIRST of equal maxima only
    m_c      = p_c * g_c + (K * g_c - K)    K = 1e30: p_c where g_c == 1, else <= -K
    conf     = Flatten(Permute(Concat(p_0, m_1 .. m_{C-1}), (0, 2, 1)))   (N, A*C) anchor-major
    out      = DetectionOutput(loc_pred, conf, priors)   top = the node's output name

DetectionOutput (Caffe-SSD's layer as OpenCV runs it) decodes each box CENTER_SIZE with
the prior's variances (xmin = cx - w/2 ... with cx = l + (r-l)/2, w = exp(v*p)*(r-l)),
clamps it to [0, 1] when ``clip`` (OpenCV's extension), then per foreground class keeps the
scores ``> confidence_threshold``, stable-sorts them descending, keeps ``top_k`` and runs
greedy NMS keeping a box when its IoU with every kept box is ``<= nms_threshold``
(IoU = i / (area_a + area_b - i), 0 without intersection, MXNet's formula); finally the
kept rows of all classes are sorted by score (std::sort: equal scores in any order) into
(1, 1, keep_top_k * N, 7) rows (image, label, score, xmin, ymin, xmax, ymax), zero rows
after the last detection. ``label`` is MXNet's class id + 1 (label 0 is the background).

Math, why it equals MXNet (exact comparisons, not tolerances):
- MXNet keeps only each anchor's best foreground class (the first of equal maxima):
  ``g_c`` is 1 for that class alone, every other class gets ``<= -K`` and never passes
  the threshold. ``p_c - best`` is 0 exactly iff ``p_c == best``; otherwise
  ``|p_c - best| * S`` exceeds 104 (exp underflows to 0) unless the two probabilities
  differ by less than ~1e-36, far below any score that passes a threshold above 1e-30.
  ``p * 1 + (K - K)`` is ``p`` exactly.
- MXNet accepts ``score >= threshold`` and ``score > -1``; OpenCV ``score > t``: ``t`` is the
  float32 just below ``threshold`` (``np.nextafter``), or -1 when ``threshold <= -1``.
- MXNet suppresses at ``IoU >= nms_threshold``, OpenCV keeps at ``IoU <= t``: ``t`` is the
  float32 just below ``nms_threshold``.
- Greedy NMS in descending score order with a stable sort, per class: MXNet's per-class
  check over its global order visits each class's rows in the same order.
- keep_top_k = A (at most one row per anchor survives the mask: nothing is cut).
- Boxes: OpenCV's decode rounds differently from MXNet's (float rounding, ~1e-7), so an
  IoU within ~1e-7 of nms_threshold, or a score tie, may decide differently; equal scores
  may come out in another order.

Inexpressible, warned (``ConversionWarning``) or refused under the ``exact`` option:
- ``nms_topk > 0`` with more than one foreground class: DetectionOutput's ``top_k`` is per
  class, MXNet's over all classes (written as ``top_k``; exact with one foreground class);
- ``force_suppress`` with more than one foreground class: DetectionOutput suppresses only
  within a class (exact with one foreground class);
- ``nms_threshold`` outside (0, 1]: MXNet neither sorts nor suppresses (rows in anchor
  order); written as 2 (nothing is suppressed), so the same detections come sorted by score.
``background_id`` is ignored, as MXNet's kernel ignores it (class 0 is the background).

Names: the DetectionOutput layer and top are the node's output name; the helpers are
``<out>__priors``, ``<out>__p<c>``, ``<out>__best``, ``<out>__e<c>``, ``<out>__g<c>``,
``<out>__m<c>``, ``<out>__conf`` ... The priors are OpenCV's ``Const`` layer (classic Caffe has
none; a file for Caffe-SSD would use PriorBox layers).
"""
from __future__ import annotations

import numpy as np

from modelport.backends.caffe import caffe_pb2 as pb
from modelport.backends.caffe.ops import Unsupported, emitter

F32 = np.float32
STEP_SCALE = 1e38  # Exp scale: exp(S * d) is 1 for d == 0 and underflows to 0 for |d| > ~1e-36
PENALTY = 1e30  # what a masked class loses: far below any threshold


def _float(value) -> float:
    return float(F32(value))


def _below(value) -> float:
    """The float32 just below ``value``: OpenCV's strict ``>`` / ``<=`` against MXNet's ``>=``."""
    return float(np.nextafter(F32(value), F32(-np.inf)))


def _eltwise(net, bottoms, top: str, operation: str, coeff=()):
    layer = net.layer("Eltwise", bottoms, top)
    layer.eltwise_param.operation = getattr(layer.eltwise_param, operation)
    layer.eltwise_param.coeff.extend(coeff)
    return top


def _power(net, bottom: str, top: str, scale: float, shift: float):
    layer = net.layer("Power", [bottom], top)
    layer.power_param.power = 1.0
    layer.power_param.scale = scale
    layer.power_param.shift = shift
    return top


def _best_class_conf(net, cls_prob, out: str, classes: int) -> str:
    """(N, A*C) anchor-major scores where only each anchor's first best foreground class keeps
    its probability (see the module doc); returns the top name."""
    source = cls_prob  # one foreground class: it is every anchor's best
    if classes > 2:
        probs = [f"{out}__p{c}" for c in range(classes)]
        layer = net.layer("Slice", [cls_prob], probs, name=probs[0])
        layer.slice_param.axis = 1
        layer.slice_param.slice_point.extend(range(1, classes))
        masked = [probs[0]]
        best = _eltwise(net, probs[1:], f"{out}__best", "MAX")
        taken = None
        for c in range(1, classes):
            diff = _eltwise(net, [probs[c], best], f"{out}__d{c}", "SUM", (1.0, -1.0))
            step = net.layer("Exp", [diff], f"{out}__e{c}")
            step.exp_param.scale = STEP_SCALE
            gate = step.top[0]
            if taken is not None:
                free = _power(net, taken, f"{out}__free{c}", -1.0, 1.0)
                gate = _eltwise(net, [gate, free], f"{out}__g{c}", "PROD")
            if c < classes - 1:
                taken = gate if taken is None else _eltwise(net, [taken, gate], f"{out}__taken{c}", "SUM")
            kept = _eltwise(net, [probs[c], gate], f"{out}__pg{c}", "PROD")
            penalty = _power(net, gate, f"{out}__pen{c}", PENALTY, -PENALTY)
            masked.append(_eltwise(net, [kept, penalty], f"{out}__m{c}", "SUM"))
        cat = net.layer("Concat", masked, f"{out}__masked")
        cat.concat_param.axis = 1
        source = cat.top[0]
    permute = net.layer("Permute", [source], f"{out}__conf_nac")
    permute.permute_param.order.extend([0, 2, 1])
    net.layer("Flatten", [permute.top[0]], f"{out}__conf")
    return f"{out}__conf"


@emitter("MultiBoxDetection", domain="modelport")
def multibox_detection(net, node) -> None:
    cls_prob, loc_pred, anchor = node.inputs[:3]
    batch, classes, count = net.shape(cls_prob)
    if net.shape(loc_pred) != (batch, count * 4):
        raise Unsupported(f"loc_pred shape {net.shape(loc_pred)} is not (N, A*4) = ({batch}, {count * 4})")
    anchors = net.const(anchor)
    if anchors is None:
        raise Unsupported("the anchors must be a constant at the given input sizes (DetectionOutput reads "
                          "its priors as a blob)")
    if anchors.size != count * 4:
        raise Unsupported(f"anchor shape {list(anchors.shape)} is not (1, A, 4) with A = {count}")
    if classes < 2:
        raise Unsupported("cls_prob has only the background class: MXNet detects nothing, and "
                          "DetectionOutput needs a foreground class")
    attr = lambda name, default: net.attr(node, name, default)  # noqa: E731
    variances = [float(v) for v in attr("variances", (0.1, 0.1, 0.2, 0.2))]
    threshold, nms = _float(attr("threshold", 0.01)), _float(attr("nms_threshold", 0.5))
    topk, force = int(attr("nms_topk", -1)), bool(attr("force_suppress", 0))
    out = node.outputs[0].name
    several = classes > 2
    if topk > 0 and several:
        net.approximate(node, "nms_topk", f"{topk} is kept per class by DetectionOutput, over all classes "
                                          "by MXNet (exact with one foreground class)")
    if force and several:
        net.approximate(node, "force_suppress", "DetectionOutput suppresses only within a class; MXNet "
                                                "across classes (exact with one foreground class)")
    sorts = 0 < nms <= 1
    if not sorts:
        net.approximate(node, "nms_threshold", f"{nms:g} is outside (0, 1]: MXNet neither sorts nor "
                                               "suppresses (anchor order); DetectionOutput gives the same "
                                               "detections sorted by score")

    priors = np.concatenate([anchors.astype(F32).reshape(-1), np.tile(np.asarray(variances, F32), count)])
    net.const_layer(f"{out}__priors", priors.reshape(1, 2, count * 4))
    conf = _best_class_conf(net, cls_prob, out, classes)
    layer = net.layer("DetectionOutput", [loc_pred, conf, f"{out}__priors"], out)
    p = layer.detection_output_param
    p.num_classes = classes
    p.share_location = True
    p.background_label_id = 0
    p.code_type = pb.PriorBoxParameter.CENTER_SIZE
    p.variance_encoded_in_target = False
    p.keep_top_k = count
    p.confidence_threshold = -1.0 if threshold <= -1 else _below(threshold)
    p.clip = bool(attr("clip", 1))
    p.nms_param.nms_threshold = _below(nms) if sorts else 2.0
    p.nms_param.top_k = topk if topk > 0 else -1
