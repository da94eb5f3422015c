"""Test support: a tiny YOLOv3 and a tiny SSD built with plain ``mx.sym`` ops in the graph style of
GluonCV's exported detectors (``net.export`` of yolo3_mobilenet1.0_coco, ssd_300_vgg16_atrous_coco),
so CI exercises their post-processing without GluonCV or downloaded weights.

What is GluonCV's here is the structure after the backbone, op for op as its export writes it:

YOLOv3 (``yolo_symbol``), per scale, YOLOOutputV3: a 1x1 prediction conv, Reshape (0, A*P, -1),
transpose (0, 2, 1), Reshape (0, -1, A, P); slice_axis into xy / wh / objectness / classes;
the grid offsets a constant (1, 1, alloc, alloc, 2) cut to the feature map with
slice_like(offsets, x * 0, axes=(2, 3)) and Reshape (1, -1, 1, 2) (``grid="arange_like"`` builds
them from _contrib_arange_like + Reshape + broadcast_add + concat instead); sigmoid + offsets,
times the stride; exp(wh) * the anchors (a constant (1, 1, A, 2)) / 2; concat of corners;
tile over classes, transpose (3, 0, 1, 2) + expand_dims of the class scores (sigmoid(class) *
sigmoid(objectness)), class ids from _arange + Reshape (0, 1, 1, 1, 1) + broadcast_add to
scores * 0, concat, transpose (1, 0, 2, 3, 4), Reshape (0, -1, 6). Between the scales the
transition conv, repeat x2 on both spatial axes and slice_like against the route * 0 (the
upsample of YOLOV3), concat with the route. Then Concat of the scales, _contrib_box_nms(topk,
valid_thresh=0.01, id_index=0, score_index=1, coord_start=2, force_suppress=False), slice_axis
to post_nms rows and into ids, scores, bboxes (the three outputs).

SSD (``ssd_symbol``): class and box predictors (3x3 convs, transpose (0, 2, 3, 1) + Flatten,
Concat, Reshape (0, -1, C+1) / (0, -1, 4)); SSDAnchorGenerator's constant (1, 1, alloc, alloc,
4*k) anchors in (cx, cy, w, h) pixels, cut with slice_like(anchors, feat * 0, axes=(2, 3)),
Reshape (1, -1, 4) twice and (1, -1), Concat, Reshape (1, -1, 4); NormalizedBoxCenterDecoder as
_contrib_box_decode(std 0.1, 0.1, 0.2, 0.2, clip=-1, format=center) (``decoder="split"``: the
minimal-opset branch, split + broadcast ops + exp + concat); softmax(axis=-1);
MultiPerClassDecoder (slice_axis, zeros_like, _arange + Reshape + broadcast_add, ones_like *
-1, _greater_scalar, where); per class slice_axis + Concat (id, score, boxes); Concat,
_contrib_box_nms, slice_axis to post_nms rows and into ids, scores, bboxes. The backbone has an
L2Normalization with a learned scale (20) like VGG16-atrous's.

The backbones are two or three small convs; weights are random, with the heads calibrated so
scores are spread (``yolo_params``, ``ssd_params``; compare tests/ssd_support.py).
"""
from __future__ import annotations

import numpy as np

CLASSES = 3                                    # foreground classes of both models
NMS = dict(overlap_thresh=0.45, topk=400, valid_thresh=0.01, id_index=0, score_index=1, coord_start=2,
           force_suppress=False)               # the attributes GluonCV's exports write
POST_NMS = 100
ALLOC = 32                                     # anchors / offsets allocated for maps up to 32x32

# YOLOv3: (stride, anchors in pixels) of each scale, deepest first, as GluonCV orders its outputs
YOLO_SCALES = [(8, [(10, 13), (16, 30), (33, 23)]), (4, [(4, 5), (7, 9), (12, 8)])]
# SSD: (stride, sizes (min, max) in pixels, ratios) of each feature map
SSD_MAPS = [(4, (8, 16), (1, 2, 0.5)), (8, (16, 32), (1, 2, 0.5))]


def _conv_bn(sym, x, name, filters, kernel=3, stride=1, leaky=True):
    """Conv (no bias) + BatchNorm + LeakyReLU(0.1) or relu, as GluonCV's _conv2d / mobilenet blocks."""
    pad = (kernel // 2,) * 2
    x = sym.Convolution(x, num_filter=filters, kernel=(kernel,) * 2, stride=(stride,) * 2, pad=pad, no_bias=True,
                        name=f"{name}_conv")
    x = sym.BatchNorm(x, fix_gamma=False, eps=1e-5, name=f"{name}_bn")
    return sym.LeakyReLU(x, act_type="leaky", slope=0.1, name=f"{name}_leaky") if leaky else \
        sym.Activation(x, act_type="relu", name=f"{name}_relu")


# -- YOLOv3 ------------------------------------------------------------------------------------

def yolo_offsets(alloc: int = ALLOC) -> np.ndarray:
    """(1, 1, alloc, alloc, 2): (x, y) of every grid cell, as YOLOOutputV3 allocates them."""
    grid_x, grid_y = np.meshgrid(np.arange(alloc), np.arange(alloc))
    return np.concatenate([grid_x[:, :, None], grid_y[:, :, None]], axis=-1)[None, None].astype(np.float32)


def yolo_anchors(k: int) -> np.ndarray:
    return np.array(YOLO_SCALES[k][1], np.float32).reshape(1, 1, -1, 2)


def _grid_from_arange_like(sym, x, name):
    """(1, H*W, 1, 2) grid offsets computed from the feature map itself: _contrib_arange_like along
    each spatial axis, broadcast to H x W against the other (times 0), concat of (x, y)."""
    xs = sym.reshape(sym.contrib.arange_like(x, axis=3, name=f"{name}_arange_x"), shape=(1, -1))  # (1, W)
    ys = sym.reshape(sym.contrib.arange_like(x, axis=2, name=f"{name}_arange_y"), shape=(-1, 1))  # (H, 1)
    gx = sym.broadcast_add(xs, ys * 0, name=f"{name}_grid_x")
    gy = sym.broadcast_add(ys, xs * 0, name=f"{name}_grid_y")
    grid = sym.concat(sym.expand_dims(gx, axis=-1), sym.expand_dims(gy, axis=-1), dim=-1, name=f"{name}_grid")
    return sym.reshape(grid, shape=(1, -1, 1, 2), name=f"{name}_reshape2")


def _yolo_output(sym, tip, k: int, stride: int, num_anchors: int, grid: str):
    """YOLOOutputV3's inference path on feature map ``tip``: (B, H*W*A*C, 6) rows."""
    name = f"yolooutput{k}"
    preds = 5 + CLASSES
    pred = sym.Convolution(tip, num_filter=num_anchors * preds, kernel=(1, 1), name=f"{name}_conv")
    pred = sym.reshape(pred, shape=(0, num_anchors * preds, -1), name=f"{name}_reshape0")
    pred = sym.transpose(pred, axes=(0, 2, 1), name=f"{name}_transpose0")
    pred = sym.reshape(pred, shape=(0, -1, num_anchors, preds), name=f"{name}_reshape1")
    raw_centers = sym.slice_axis(pred, axis=-1, begin=0, end=2, name=f"{name}_slice_xy")
    raw_scales = sym.slice_axis(pred, axis=-1, begin=2, end=4, name=f"{name}_slice_wh")
    objness = sym.slice_axis(pred, axis=-1, begin=4, end=5, name=f"{name}_slice_obj")
    class_pred = sym.slice_axis(pred, axis=-1, begin=5, end=None, name=f"{name}_slice_cls")
    if grid == "constant":
        offsets = sym.var(f"{name}_offset_{k}", shape=(1, 1, ALLOC, ALLOC, 2))
        offsets = sym.slice_like(offsets, tip * 0, axes=(2, 3), name=f"{name}_slice_like0")
        offsets = sym.reshape(offsets, shape=(1, -1, 1, 2), name=f"{name}_reshape2")
    else:
        offsets = _grid_from_arange_like(sym, tip, name)
    anchors = sym.var(f"{name}_anchor_{k}", shape=(1, 1, num_anchors, 2))
    centers = sym.broadcast_add(sym.sigmoid(raw_centers), offsets, name=f"{name}_broadcast_add0") * stride
    scales = sym.broadcast_mul(sym.exp(raw_scales), anchors, name=f"{name}_broadcast_mul0")
    confidence = sym.sigmoid(objness, name=f"{name}_sigmoid_obj")
    class_score = sym.broadcast_mul(sym.sigmoid(class_pred), confidence, name=f"{name}_broadcast_mul1")
    wh = scales / 2.0
    bbox = sym.concat(centers - wh, centers + wh, dim=-1, name=f"{name}_concat0")
    bboxes = sym.tile(bbox, reps=(CLASSES, 1, 1, 1, 1), name=f"{name}_tile0")
    scores = sym.expand_dims(sym.transpose(class_score, axes=(3, 0, 1, 2)), axis=-1, name=f"{name}_scores")
    class_ids = sym.reshape(sym.arange(0, CLASSES, name=f"{name}_arange"), shape=(0, 1, 1, 1, 1))
    ids = sym.broadcast_add(scores * 0, class_ids, name=f"{name}_ids")
    detections = sym.concat(ids, scores, bboxes, dim=-1, name=f"{name}_concat1")
    return sym.reshape(sym.transpose(detections, axes=(1, 0, 2, 3, 4)), shape=(0, -1, 6), name=f"{name}_dets")


def yolo_symbol(grid: str = "constant"):
    """The tiny YOLOv3: backbone stride 2 -> 4 (route) -> 8; detection block + output at stride 8,
    transition + upsample + concat with the route, detection block + output at stride 4; concat,
    box_nms, slices. Outputs ids, scores, bboxes. ``grid``: "constant" (GluonCV's export) or
    "arange_like" (offsets computed from the feature map)."""
    import mxnet as mx

    sym = mx.sym
    x = _conv_bn(sym, sym.var("data"), "stage0", 8, stride=2, leaky=False)     # mobilenet-like: relu
    route = _conv_bn(sym, x, "stage1", 12, stride=2, leaky=False)               # stride 4
    x = _conv_bn(sym, route, "stage2", 16, stride=2)                            # stride 8
    routes = [route, x]
    detections = []
    for k, (stride, anchors) in enumerate(YOLO_SCALES):
        block = _conv_bn(sym, x, f"block{k}_0", 8, kernel=1)
        tip = _conv_bn(sym, block, f"block{k}_1", 16)
        detections.append(_yolo_output(sym, tip, k, stride, len(anchors), grid))
        if k == len(YOLO_SCALES) - 1:
            break
        x = _conv_bn(sym, block, f"transition{k}", 8, kernel=1)
        up = sym.repeat(sym.repeat(x, axis=-1, repeats=2), axis=-2, repeats=2, name=f"upsample{k}")
        route_now = routes[::-1][k + 1]
        x = sym.concat(sym.slice_like(up, route_now * 0, axes=(2, 3), name=f"upsample{k}_cut"), route_now, dim=1,
                       name=f"route{k}")
    result = sym.concat(*detections, dim=1, name="all_detections")
    return _nms_and_split(sym, result)


def _nms_and_split(sym, result):
    result = sym.contrib.box_nms(result, name="box_nms0", **NMS)
    result = sym.slice_axis(result, axis=1, begin=0, end=POST_NMS, name="post_nms")
    ids = sym.slice_axis(result, axis=-1, begin=0, end=1, name="ids")
    scores = sym.slice_axis(result, axis=-1, begin=1, end=2, name="scores")
    bboxes = sym.slice_axis(result, axis=-1, begin=2, end=None, name="bboxes")
    return sym.Group([ids, scores, bboxes])


def _calibrate(sym, args, aux, shape, seed, heads: dict) -> None:
    """Scale and shift each head conv's weight and bias, per output channel, so that channel's output
    has the target mean and standard deviation on a random image: heads = {conv name: [(mean, std)
    per channel]}. Centring matters as much as scaling: a class channel whose mean is far from 0
    would give hundreds of scores equal to 1 to float32 precision, ranked by rounding noise."""
    import mxnet as mx

    from oracle import run_mxnet

    internals = sym.get_internals()
    image = np.random.default_rng(seed + 100).uniform(-1, 1, shape).astype(np.float32)
    names = list(heads)
    outs = run_mxnet(mx.sym.Group([internals[f"{n}_output"] for n in names]), args, aux, {"data": image})
    for name, out in zip(names, outs):
        per_channel = out.transpose(1, 0, 2, 3).reshape(out.shape[1], -1)
        mean, std = per_channel.mean(axis=1), np.maximum(per_channel.std(axis=1), 1e-6)
        target = np.asarray(heads[name], np.float32)
        factor = target[:, 1] / std
        weight, bias = args[f"{name}_weight"].asnumpy(), args[f"{name}_bias"].asnumpy()
        args[f"{name}_weight"] = mx.nd.array(weight * factor.reshape(-1, 1, 1, 1))
        args[f"{name}_bias"] = mx.nd.array((bias - mean) * factor + target[:, 0])


def yolo_params(sym, shape=(1, 3, 64, 64), seed: int = 0):
    """Random weights, the offsets and anchors constants, each output conv calibrated per channel:
    xy logits mean 0 std 1, wh mean 0 std 0.4 (exp: boxes 0.5-2x the anchors), objectness and
    class logits mean -1 std 1.5 (scores spread over (0, 1), few near 1)."""
    import mxnet as mx

    from oracle import random_params

    args, aux = random_params(sym, {"data": shape}, seed)
    for k, (_, anchors) in enumerate(YOLO_SCALES):
        if f"yolooutput{k}_offset_{k}" in args:
            args[f"yolooutput{k}_offset_{k}"] = mx.nd.array(yolo_offsets())
        args[f"yolooutput{k}_anchor_{k}"] = mx.nd.array(yolo_anchors(k))
    per_anchor = [(0, 1.0), (0, 1.0), (0, 0.4), (0, 0.4), (-1, 1.5)] + [(-1, 1.5)] * CLASSES
    heads = {f"yolooutput{k}_conv": per_anchor * len(anchors) for k, (_, anchors) in enumerate(YOLO_SCALES)}
    _calibrate(sym, args, aux, shape, seed, heads)
    return args, aux


# -- SSD ---------------------------------------------------------------------------------------

def ssd_anchors(k: int, alloc: int = ALLOC) -> np.ndarray:
    """SSDAnchorGenerator's (1, 1, alloc, alloc, 4 * depth) anchors, (cx, cy, w, h) in pixels."""
    step, (small, large), ratios = SSD_MAPS[k]
    sizes = (small, np.sqrt(small * large))
    out = []
    for i in range(alloc):
        for j in range(alloc):
            cy, cx = (i + 0.5) * step, (j + 0.5) * step
            out += [[cx, cy, sizes[0], sizes[0]], [cx, cy, sizes[1], sizes[1]]]
            out += [[cx, cy, sizes[0] * np.sqrt(r), sizes[0] / np.sqrt(r)] for r in ratios[1:]]
    return np.array(out, np.float32).reshape(1, 1, alloc, alloc, -1)


def _depth(k: int) -> int:
    return 2 + len(SSD_MAPS[k][2]) - 1


def _box_decode_split(sym, x, anchors, stds=(0.1, 0.1, 0.2, 0.2)):
    """NormalizedBoxCenterDecoder's minimal-opset branch (anchors in center format)."""
    a = sym.split(anchors, axis=-1, num_outputs=4, name="decoder_split_anchors")
    p = sym.split(x, axis=-1, num_outputs=4, name="decoder_split_preds")
    ox = sym.broadcast_add(sym.broadcast_mul(p[0] * stds[0], a[2]), a[0])
    oy = sym.broadcast_add(sym.broadcast_mul(p[1] * stds[1], a[3]), a[1])
    dw, dh = sym.exp(p[2] * stds[2]), sym.exp(p[3] * stds[3])
    ow = sym.broadcast_mul(dw, a[2]) * 0.5
    oh = sym.broadcast_mul(dh, a[3]) * 0.5
    return sym.concat(ox - ow, oy - oh, ox + ow, oy + oh, dim=-1, name="decoder_concat")


def ssd_symbol(decoder: str = "box_decode"):
    """The tiny SSD: data * init_scale (a constant, as VGG16-atrous's), conv + max Pooling (ceil,
    stride 2), conv stride 4 (feature 0: L2Normalization times a learned scale), conv stride 8
    (feature 1); predictors, anchors, decoder, per-class decoder, box_nms, slices.
    Outputs ids, scores, bboxes. ``decoder``: "box_decode" (the export's _contrib_box_decode) or
    "split" (the minimal-opset branch)."""
    import mxnet as mx

    sym = mx.sym
    x = sym.broadcast_mul(sym.var("data"), sym.var("init_scale", shape=(1, 3, 1, 1)), name="init_scaled")
    x = sym.Activation(sym.Convolution(x, num_filter=8, kernel=(3, 3), pad=(1, 1), name="conv0"), act_type="relu",
                       name="relu0")
    x = sym.Pooling(x, kernel=(2, 2), stride=(2, 2), pool_type="max", pooling_convention="full", name="pool0")
    x = sym.Activation(sym.Convolution(x, num_filter=12, kernel=(3, 3), stride=(2, 2), pad=(1, 1), name="conv1"),
                       act_type="relu", name="relu1")
    scale = sym.var("normalize_scale", shape=(1, 12, 1, 1))
    feat0 = sym.broadcast_mul(sym.L2Normalization(x, mode="channel", eps=1e-5, name="l2norm"), scale,
                              name="normalize")
    feat1 = sym.Activation(sym.Convolution(x, num_filter=16, kernel=(3, 3), stride=(2, 2), pad=(1, 1), name="conv2"),
                           act_type="relu", name="relu2")
    cls_preds, box_preds, anchors = [], [], []
    for k, feat in enumerate((feat0, feat1)):
        depth = _depth(k)
        cp = sym.Convolution(feat, num_filter=depth * (CLASSES + 1), kernel=(3, 3), pad=(1, 1), name=f"class_pred{k}")
        bp = sym.Convolution(feat, num_filter=depth * 4, kernel=(3, 3), pad=(1, 1), name=f"box_pred{k}")
        cls_preds.append(sym.Flatten(sym.transpose(cp, axes=(0, 2, 3, 1)), name=f"class_flat{k}"))
        box_preds.append(sym.Flatten(sym.transpose(bp, axes=(0, 2, 3, 1)), name=f"box_flat{k}"))
        a = sym.var(f"anchorgenerator{k}_anchor_{k}", shape=(1, 1, ALLOC, ALLOC, 4 * depth))
        a = sym.slice_like(a, feat * 0, axes=(2, 3), name=f"anchorgenerator{k}_slice_like0")
        a = sym.reshape(sym.reshape(a, shape=(1, -1, 4)), shape=(1, -1, 4), name=f"anchorgenerator{k}_reshape1")
        anchors.append(sym.reshape(a, shape=(1, -1), name=f"anchors_flat{k}"))
    cls_preds = sym.reshape(sym.concat(*cls_preds, dim=1), shape=(0, -1, CLASSES + 1), name="cls_preds")
    box_preds = sym.reshape(sym.concat(*box_preds, dim=1), shape=(0, -1, 4), name="box_preds")
    anchors = sym.reshape(sym.concat(*anchors, dim=1), shape=(1, -1, 4), name="anchors")
    if decoder == "box_decode":
        bboxes = sym.contrib.box_decode(box_preds, anchors, 0.1, 0.1, 0.2, 0.2, clip=-1, format="center",
                                        name="box_decode0")
    else:
        bboxes = _box_decode_split(sym, box_preds, anchors)
    probs = sym.softmax(cls_preds, axis=-1, name="softmax0")
    # MultiPerClassDecoder
    scores = sym.slice_axis(probs, axis=-1, begin=1, end=None, name="fg_scores")
    template = sym.zeros_like(sym.slice_axis(probs, axis=-1, begin=0, end=1), name="template")
    class_ids = sym.reshape(sym.arange(CLASSES, name="class_arange"), shape=(1, 1, CLASSES))
    cls_id = sym.broadcast_add(template, class_ids, name="cls_id")
    mask = scores > 0.01
    cls_id = sym.where(mask, cls_id, sym.ones_like(cls_id) * -1, name="cls_id_masked")
    scores = sym.where(mask, scores, sym.zeros_like(scores), name="scores_masked")
    results = []
    for i in range(CLASSES):
        results.append(sym.concat(sym.slice_axis(cls_id, axis=-1, begin=i, end=i + 1),
                                  sym.slice_axis(scores, axis=-1, begin=i, end=i + 1), bboxes, dim=-1,
                                  name=f"per_class{i}"))
    return _nms_and_split(sym, sym.concat(*results, dim=1, name="all_detections"))


def ssd_params(sym, shape=(1, 3, 64, 64), seed: int = 0):
    """Random weights, the anchors constants, the input scale, the L2 norm scale 20; class predictors
    calibrated to logits of mean 0 std 1.5, box predictors to offsets of mean 0 std 0.5."""
    import mxnet as mx

    from oracle import random_params

    args, aux = random_params(sym, {"data": shape}, seed)
    args["init_scale"] = mx.nd.array(np.array([0.9, 1.1, 1.3], np.float32).reshape(1, 3, 1, 1))
    args["normalize_scale"] = mx.nd.full((1, 12, 1, 1), 20.0)
    for k in range(len(SSD_MAPS)):
        args[f"anchorgenerator{k}_anchor_{k}"] = mx.nd.array(ssd_anchors(k))
    heads = {}
    for k in range(len(SSD_MAPS)):
        heads[f"class_pred{k}"] = [(0, 1.5)] * (_depth(k) * (CLASSES + 1))
        heads[f"box_pred{k}"] = [(0, 0.5)] * (_depth(k) * 4)
    _calibrate(sym, args, aux, shape, seed, heads)
    return args, aux


def save(folder, stem: str, sym, args, aux):
    """``folder/{stem}-symbol.json`` + ``{stem}-0000.params``; returns both paths."""
    import mxnet as mx

    sym.save(str(folder / f"{stem}-symbol.json"))
    saved = {f"arg:{k}": v for k, v in args.items()}
    saved.update({f"aux:{k}": v for k, v in aux.items()})
    mx.nd.save(str(folder / f"{stem}-0000.params"), saved)
    return folder / f"{stem}-symbol.json", folder / f"{stem}-0000.params"
