"""Test support for SSD's detection head: random (cls_prob, loc_pred, anchor) inputs, MXNet's own
MultiBoxDetection on them, and the symbol of a lone detection node.

``inputs(rng, ...)`` draws probabilities that tie on purpose when ``ties`` (scores rounded to
quarters: the stable sort and the first-of-equal-maxima rule matter then), anchors that
overlap each other (NMS suppresses) and offsets of both signs (boxes leave [0, 1], so clip
matters).
"""
from __future__ import annotations

import numpy as np

ATTRIBUTE_CASES = [
    {},
    dict(clip=False),
    dict(threshold=0.3),
    dict(nms_threshold=0.3),
    dict(nms_threshold=0.0),          # outside (0, 1]: MXNet skips sorting and NMS
    dict(nms_threshold=1.0),
    dict(force_suppress=True),
    dict(nms_topk=5),
    dict(variances=(0.2, 0.15, 0.3, 0.1)),
    dict(background_id=2),            # read and ignored by MXNet's kernel
]


def inputs(rng, batch: int = 1, classes: int = 4, anchors: int = 40, ties: bool = False):
    cls = rng.uniform(0, 1, (batch, classes, anchors)).astype(np.float32)
    if ties:
        cls = (np.round(cls * 4) / 4).astype(np.float32)
    loc = rng.normal(0, 1, (batch, anchors * 4)).astype(np.float32)
    centre, size = rng.uniform(0, 1, (anchors, 2)), rng.uniform(0.02, 0.6, (anchors, 2))
    anchor = np.concatenate([centre - size / 2, centre + size / 2], 1)[None].astype(np.float32)
    return cls, loc, anchor


def random_case(rng, ties: bool = False):
    """Random inputs of random sizes (1-2 images, 1-4 classes, 1-49 anchors) and random attributes,
    including nms_threshold outside (0, 1] and thresholds at or below 0."""
    data = inputs(rng, int(rng.integers(1, 3)), int(rng.integers(1, 5)), int(rng.integers(1, 50)), ties)
    attrs = dict(clip=bool(rng.integers(2)), threshold=float(rng.choice([0.01, 0.3, 0.0, -2.0])),
                 nms_threshold=float(rng.choice([0.5, 0.3, 0.0, 1.0, 1.5, 0.05])),
                 force_suppress=bool(rng.integers(2)), nms_topk=int(rng.choice([-1, 3, 10, 1000])),
                 variances=tuple(float(v) for v in rng.uniform(0.05, 0.5, 4).round(2)))
    return data, attrs


def symbol(**attrs):
    import mxnet as mx

    return mx.sym.contrib.MultiBoxDetection(mx.sym.var("cls_prob"), mx.sym.var("loc_pred"),
                                            mx.sym.var("anchor"), name="detection", **attrs)


def mxnet_detection(cls, loc, anchor, **attrs) -> np.ndarray:
    import mxnet as mx

    return mx.nd.contrib.MultiBoxDetection(mx.nd.array(cls), mx.nd.array(loc), mx.nd.array(anchor),
                                           **attrs).asnumpy()


def assert_same_rows(ref: np.ndarray, got: np.ndarray, atol: float = 1e-6, what: str = "detections"):
    """The whole (N, A, 6) tensor: class ids exactly (so order and suppression), scores and boxes
    within ``atol``."""
    assert got.shape == ref.shape, f"{what}: shape {got.shape} != MXNet {ref.shape}"
    ids = np.argwhere(ref[..., 0] != got[..., 0])
    assert not len(ids), f"{what}: class id differs at {ids[:5].tolist()} (of {len(ids)})"
    err = float(np.abs(ref.astype(np.float64) - got).max())
    assert err <= atol, f"{what}: max abs error {err:.3g}"


# -- a small mxnet-ssd style detector ---------------------------------------------------------

NUM_CLASSES = 3            # foreground classes; cls_prob has NUM_CLASSES + 1 rows (0 = background)
PRIORS = [dict(sizes=(0.1, 0.141), ratios=(1, 2, 0.5)),                       # 4 anchors a position
          dict(sizes=(0.2, 0.272, 0.37), ratios=(1, 2), steps=(0.06, 0.07), offsets=(0.4, 0.6))]  # 4 too


def ssd_symbol(prior_clip: bool = False, priors: list | None = None, **detection):
    """Two feature maps (stride 2 and 4), L2Normalization with a learned per-channel scale on the
    first, loc/cls heads as transpose + Flatten + Concat, priors Flatten + Concat + Reshape(0, -1, 4),
    cls Reshape(0, -1, C) + transpose + SoftmaxActivation(mode=channel), MultiBoxDetection; the
    detection node is named ``detection``. Outputs: detection, then cls_prob, loc_preds, anchors.
    ``priors`` replaces PRIORS (one MultiBoxPrior attribute dict per feature map)."""
    import mxnet as mx

    sym = mx.sym
    data = sym.var("data")
    x = sym.Activation(sym.Convolution(data, num_filter=8, kernel=(3, 3), pad=(1, 1), name="conv1"), "relu")
    x = sym.Pooling(x, kernel=(2, 2), stride=(2, 2), pool_type="max", name="pool1")
    norm = sym.L2Normalization(x, mode="channel", name="conv1_norm")
    scale = sym.var("conv1_scale", shape=(1, 8, 1, 1), init=mx.init.Constant(20))
    feat1 = sym.broadcast_mul(scale, norm, name="conv1_scaled")
    feat2 = sym.Activation(sym.Convolution(x, num_filter=16, kernel=(3, 3), stride=(2, 2), pad=(1, 1),
                                           name="conv2"), "relu", name="relu2")
    locs, clss, anchors = [], [], []
    for k, (feat, prior) in enumerate(zip((feat1, feat2), priors or PRIORS)):
        count = len(prior["sizes"]) + len(prior["ratios"]) - 1
        loc = sym.Convolution(feat, num_filter=count * 4, kernel=(3, 3), pad=(1, 1), name=f"loc{k}")
        cls = sym.Convolution(feat, num_filter=count * (NUM_CLASSES + 1), kernel=(3, 3), pad=(1, 1), name=f"cls{k}")
        locs.append(sym.Flatten(sym.transpose(loc, axes=(0, 2, 3, 1)), name=f"loc{k}_flat"))
        clss.append(sym.Flatten(sym.transpose(cls, axes=(0, 2, 3, 1)), name=f"cls{k}_flat"))
        anchors.append(sym.Flatten(sym.contrib.MultiBoxPrior(feat, clip=prior_clip, name=f"anchors{k}", **prior),
                                   name=f"anchors{k}_flat"))
    loc_preds = sym.concat(*locs, dim=1, name="loc_preds")
    cls_preds = sym.transpose(sym.reshape(sym.concat(*clss, dim=1), shape=(0, -1, NUM_CLASSES + 1)),
                              axes=(0, 2, 1), name="cls_preds")
    anchor = sym.reshape(sym.concat(*anchors, dim=1), shape=(0, -1, 4), name="anchors")
    cls_prob = sym.SoftmaxActivation(cls_preds, mode="channel", name="cls_prob")
    det = sym.contrib.MultiBoxDetection(cls_prob, loc_preds, anchor, name="detection", **detection)
    return sym.Group([det, cls_prob, loc_preds, anchor])


def ssd_params(sym, shape=(1, 3, 64, 64), seed: int = 0):
    """Random weights, calibrated: each head's weights and bias are scaled so that its output has
    standard deviation 1.5 (class logits: scores spread over (0, 1), neither saturated nor
    uniform) or 0.5 (box offsets of a few tenths) on a random image; the norm scale is 20."""
    import mxnet as mx

    from oracle import random_params, run_mxnet

    args, aux = random_params(sym, {"data": shape}, seed)
    args["conv1_scale"] = mx.nd.full((1, 8, 1, 1), 20.0)
    heads = [f"{kind}{k}" for kind in ("cls", "loc") for k in range(2)]
    internals = sym.get_internals()
    image = np.random.default_rng(seed + 100).uniform(-1, 1, shape).astype(np.float32)
    outputs = run_mxnet(mx.sym.Group([internals[f"{h}_output"] for h in heads]), args, aux, {"data": image})
    for head, out in zip(heads, outputs):
        factor = (1.5 if head.startswith("cls") else 0.5) / float(out.std())
        for part in ("weight", "bias"):
            args[f"{head}_{part}"] = args[f"{head}_{part}"] * factor
    return args, aux


def save_ssd(folder, shape=(1, 3, 64, 64), seed: int = 0, **detection):
    """``folder/ssd-symbol.json`` + ``ssd-0000.params``; returns both paths."""
    import mxnet as mx

    sym = ssd_symbol(**detection)
    args, aux = ssd_params(sym, shape, seed)
    sym.save(str(folder / "ssd-symbol.json"))
    saved = {f"arg:{k}": v for k, v in args.items()}
    saved.update({f"aux:{k}": v for k, v in aux.items()})
    mx.nd.save(str(folder / "ssd-0000.params"), saved)
    return folder / "ssd-symbol.json", folder / "ssd-0000.params"
