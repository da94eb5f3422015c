"""_arange against MXNet: stop absent, negative and fractional steps, repeat, infer_range, dtypes."""
import mxnet as mx
import numpy as np
import pytest

from modelport.errors import ConversionError
from oracle import roundtrip, roundtrip_feeds


@pytest.mark.parametrize("kw", [
    dict(start=5),                                  # stop absent: [0, 5)
    dict(start=2, stop=9),
    dict(start=1.5, stop=4, step=0.5),
    dict(start=10, stop=2, step=-3),
    dict(start=0, stop=5, repeat=3),
    dict(start=-1, stop=2, step=0.7, repeat=2),
    dict(start=0, stop=7, infer_range=True),        # with a stop, infer_range changes nothing
    dict(start=0, stop=6, dtype="int32"),
    dict(start=1, stop=3.5, step=0.5, dtype="int64"),  # start and step cast first: 1 + i * 0
    dict(start=0, stop=4, dtype="float16"),
])
def test_arange(kw):
    """Added to an input of the range's length, so the graph has an input like a real model's."""
    n = len(mx.nd.arange(**kw))
    rng = mx.sym.arange(name="r", **kw)
    sym = mx.sym.broadcast_add(mx.sym.Cast(rng, dtype="float32"), mx.sym.var("data"), name="out")
    x = np.random.default_rng(0).uniform(-1, 1, (2, n))
    roundtrip_feeds(sym, [{"data": x}])


def test_arange_infer_range_without_stop_is_refused():
    rng = mx.sym.arange(start=0, infer_range=True, name="r")
    sym = mx.sym.elemwise_add(rng, mx.sym.var("data"), name="out")
    with pytest.raises(ConversionError, match="infer_range without stop"):
        roundtrip_feeds(sym, [{"data": np.zeros((4,))}], args={}, aux={})


LIKE_CASES = [dict(), dict(start=2, step=0.5, repeat=2, axis=1), dict(repeat=3), dict(axis=-1, start=-1.5, step=-0.25),
              dict(axis=0, repeat=4, step=3)]


@pytest.mark.parametrize("kw", LIKE_CASES, ids=str)
def test_arange_like_follows_the_input_size(kw):
    """Converted once with sizes symbolic, equal to MXNet at two input sizes (a range over a
    feature map's size, as GluonCV's YOLOv3 builds its grid)."""
    sym = mx.sym.contrib.arange_like(mx.sym.var("data"), name="r", **kw)
    roundtrip(sym, {"data": (1, 3, 5, 7)}, run_shapes=[{"data": (1, 3, 5, 7)}, {"data": (2, 3, 9, 6)}])
