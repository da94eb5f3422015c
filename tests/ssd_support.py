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
