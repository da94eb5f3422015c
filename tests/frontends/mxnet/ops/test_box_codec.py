"""_contrib_box_decode against MXNet: both anchor formats, stds, clip on and off, batches."""
import mxnet as mx
import numpy as np
import pytest

from oracle import roundtrip_feeds

CASES = [dict(), dict(format="corner"), dict(std0=0.1, std1=0.1, std2=0.2, std3=0.2),
         dict(format="corner", std0=0.1, std1=0.2, std2=0.3, std3=0.4, clip=0.5), dict(clip=1.2)]


def feeds(rng, batch: int, count: int, corner: bool):
    data = rng.normal(0, 2, (batch, count, 4)).astype(np.float32)
    xy, wh = rng.uniform(0, 1, (1, count, 2)), rng.uniform(0.05, 0.5, (1, count, 2))
    anchors = np.concatenate([xy, xy + wh] if corner else [xy, wh], axis=2).astype(np.float32)
    return {"data": data, "anchors": anchors}


@pytest.mark.parametrize("kw", CASES, ids=str)
def test_box_decode(kw):
    sym = mx.sym.contrib.box_decode(mx.sym.var("data"), mx.sym.var("anchors"), name="boxes", **kw)
    rng = np.random.default_rng(0)
    corner = kw.get("format") == "corner"
    roundtrip_feeds(sym, [feeds(rng, 2, 30, corner), feeds(rng, 2, 30, corner)], static=True)


def test_clip_changes_the_boxes():
    rng = np.random.default_rng(1)
    f = feeds(rng, 1, 50, False)
    f["data"][..., 2:] = 3.0  # exp(3) > exp(clip)
    plain, clipped = (mx.nd.contrib.box_decode(mx.nd.array(f["data"]), mx.nd.array(f["anchors"]), **kw).asnumpy()
                      for kw in ({}, dict(clip=1.0)))
    assert not np.allclose(plain, clipped)
    sym = mx.sym.contrib.box_decode(mx.sym.var("data"), mx.sym.var("anchors"), name="boxes", clip=1.0)
    roundtrip_feeds(sym, [f], static=True)
