"""Test support for _contrib_box_nms: random rows laid out as the attributes say, MXNet's own
box_nms on them (both outputs), the symbol of a lone box_nms node, and an exact comparison.

``rows(rng, lead, n, attrs, ties)`` draws rows whose boxes overlap each other (NMS suppresses),
some flipped or of zero size (degenerate: they overlap nothing), some leaving the image on the
left (a negative first coordinate: MXNet does not convert those rows' format), class ids
0..3 and -1 with fractional ones (MXNet compares ``(int) id``), scores of both signs; with
``ties`` scores and coordinates are multiples of 1/8 (equal scores are common: the stable
sort matters; equal IoUs hit the threshold exactly).
"""
from __future__ import annotations

import json

import numpy as np

ATTRIBUTE_CASES = [
    {},
    dict(overlap_thresh=0.3),
    dict(overlap_thresh=0.0),
    dict(overlap_thresh=1.0),
    dict(valid_thresh=0.25),
    dict(valid_thresh=-0.5),
    dict(topk=5),
    dict(topk=0),                     # the kernel copies the input through
    dict(topk=1000),
    dict(id_index=0),
    dict(id_index=0, force_suppress=True),
    dict(id_index=0, background_id=2),
    dict(coord_start=1, score_index=0, id_index=5),
    dict(coord_start=0, score_index=4, id_index=5),
    dict(in_format="center"),
    dict(out_format="center"),
    dict(in_format="center", out_format="center", id_index=0),
]


def layout(attrs: dict) -> tuple[int, int, int]:
    return attrs.get("coord_start", 2), attrs.get("score_index", 1), attrs.get("id_index", -1)


def rows(rng, lead: tuple, n: int, attrs: dict | None = None, ties: bool = False, width: int = 6) -> np.ndarray:
    """(*lead, n, W) float32 rows for box_nms with ``attrs`` (module doc), W >= width as the columns need."""
    attrs = attrs or {}
    start, score_index, id_index = layout(attrs)
    width = max(width, start + 4, score_index + 1, id_index + 1)
    shape = tuple(lead) + (n,)
    x = rng.normal(0, 1, shape + (width,))
    score = rng.uniform(-0.3, 1, shape)
    centre, size = rng.uniform(-0.1, 1, shape + (2,)), rng.uniform(0, 0.6, shape + (2,))
    odd = rng.uniform(0, 1, shape) < 0.1
    size[odd] *= rng.choice([-1.0, 0.0], odd.sum())[:, None]   # flipped or empty boxes
    if ties:
        score, centre, size = (np.round(v * 8) / 8 for v in (score, centre, size))
    if attrs.get("in_format") == "center":
        box = np.concatenate([centre, size], -1)
    else:
        box = np.concatenate([centre - size / 2, centre + size / 2], -1)
    x[..., start:start + 4] = box
    x[..., score_index] = score
    ids = rng.integers(-1, 4, shape).astype(float)
    ids += np.where(rng.uniform(0, 1, shape) < 0.2, rng.uniform(-0.9, 0.9, shape), 0)
    if id_index >= 0:
        x[..., id_index] = ids
    return x.astype(np.float32)


def symbol(name: str = "nms", record: bool = False, alias: bool = False, **attrs):
    """A lone box_nms node on ``data``; ``record``: its hidden output 1 is a head too (as only a
    hand-edited JSON can say); ``alias``: written as _contrib_box_non_maximum_suppression."""
    import mxnet as mx

    sym = mx.sym.contrib.box_nms(mx.sym.var("data"), name=name, **attrs)
    if not (record or alias):
        return sym
    graph = json.loads(sym.tojson())
    if record:
        graph["heads"] = [[1, 0, 0], [1, 1, 0]]
    if alias:
        graph["nodes"][1]["op"] = "_contrib_box_non_maximum_suppression"
    return mx.sym.load_json(json.dumps(graph))


def mxnet_box_nms(data: np.ndarray, **attrs) -> tuple[np.ndarray, np.ndarray]:
    """MXNet's (out, record) for ``data``."""
    import mxnet as mx

    exe = symbol(record=True, **attrs).bind(mx.cpu(), {"data": mx.nd.array(data)}, grad_req="null")
    exe.forward(is_train=False)
    out, record = (o.asnumpy() for o in exe.outputs)
    assert np.array_equal(out, mx.nd.contrib.box_nms(mx.nd.array(data), **attrs).asnumpy())
    return out, record


def assert_same(ref: np.ndarray, got: np.ndarray, what: str = "box_nms") -> None:
    """Bit for bit: every kept row is a copy of an input row (or MXNet's own format arithmetic)."""
    assert got.shape == ref.shape, f"{what}: shape {got.shape} != MXNet {ref.shape}"
    differ = np.argwhere((ref != got) & ~(np.isnan(ref) & np.isnan(got)))
    assert not len(differ), f"{what}: differs from MXNet at {differ[:5].tolist()} (of {len(differ)})"
