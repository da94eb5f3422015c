"""gather_nd, pick, one_hot, where, topk, argsort against MXNet."""
import mxnet as mx
import numpy as np
import pytest

from oracle import roundtrip_feeds

rng = np.random.default_rng(0)


def uniform(*shape):
    return rng.uniform(-2, 2, shape)


@pytest.mark.parametrize("data, indices", [
    ((4, 5), np.array([[0, 3, 1], [4, 0, 2]])),               # M = 2: scalars
    ((4, 5, 3), np.array([[0, 3], [1, 1]])),                  # M = 2 of 3: rows of the last axis
    ((6, 2, 3), np.array([[[0, 5], [3, 3], [1, 2]]])),        # M = 1, Y = (3, 2)
    ((4, 5), np.array([[0.9, 2.7], [3.2, 0.1]])),             # float indices truncate
])
def test_gather_nd(data, indices):
    sym = mx.sym.gather_nd(mx.sym.var("data"), mx.sym.var("indices"), name="g")
    roundtrip_feeds(sym, [{"data": uniform(*data), "indices": indices}], static=True)


@pytest.mark.parametrize("kw, index", [
    ({}, [0, 4, 2]),                                          # axis -1, clip
    (dict(axis=1, keepdims=True), [1, 0, 3]),
    (dict(axis=1, mode="clip"), [-3, 7, 2]),                  # clamped to [0, 4]
    (dict(axis=1, mode="wrap"), [-1, 7, 12]),                 # modulo 5
    (dict(axis=0), [0, 2, 1, 1, 2]),
])
def test_pick(kw, index):
    sym = mx.sym.pick(mx.sym.var("data"), mx.sym.var("index"), name="p", **kw)
    roundtrip_feeds(sym, [{"data": uniform(3, 5), "index": np.array(index)}], static=True)


def test_pick_nchw_channel():
    sym = mx.sym.pick(mx.sym.var("data"), mx.sym.var("index"), axis=1, name="p")
    index = rng.integers(0, 4, (2, 5, 3))
    roundtrip_feeds(sym, [{"data": uniform(2, 4, 5, 3), "index": index}], static=True)


@pytest.mark.parametrize("kw", [dict(depth=5), dict(depth=4, on_value=3.5, off_value=-1), dict(depth=5, dtype="int32")])
def test_one_hot(kw):
    sym = mx.sym.one_hot(mx.sym.var("indices"), name="oh", **kw)
    indices = np.array([[0, 3, 4], [-1, 7, 2.6]])             # out of range: all off; 2.6 -> 2
    roundtrip_feeds(sym, [{"indices": indices}], static=True)


@pytest.mark.parametrize("cond_shape", [(2, 3, 4), (2,)])
def test_where(cond_shape):
    """A condition of x's shape, and a 1-D one of x's first dim (whole rows), non-0/1 values too."""
    sym = mx.sym.where(mx.sym.var("cond"), mx.sym.var("x"), mx.sym.var("y"), name="w")
    cond = rng.choice([0.0, 1.0, -2.5, 0.3], cond_shape)
    cond.flat[0], cond.flat[1] = 0.0, 1.0
    roundtrip_feeds(sym, [{"cond": cond, "x": uniform(2, 3, 4), "y": uniform(2, 3, 4)}], static=True)


@pytest.mark.parametrize("kw", [
    {},                                                       # k 1, indices, axis -1
    dict(k=3, ret_typ="value"),
    dict(k=3, ret_typ="indices", is_ascend=True),
    dict(k=2, ret_typ="both"),
    dict(k=2, ret_typ="both", is_ascend=True, axis=1),
    dict(k=3, ret_typ="mask"),
    dict(k=2, ret_typ="mask", axis=0, is_ascend=True),
    dict(k=0, ret_typ="value"),                               # k < 1: everything, sorted
    dict(k=4, ret_typ="indices", axis=None),                  # over the flattened input
    dict(k=2, ret_typ="indices", dtype="int32"),
])
def test_topk(kw):
    sym = mx.sym.topk(mx.sym.var("data"), name="t", **kw)
    x = rng.permutation(60).reshape(3, 4, 5) / 7.0            # no ties
    roundtrip_feeds(sym, [{"data": x}], static=True)


@pytest.mark.parametrize("kw", [{}, dict(is_ascend=False), dict(axis=0), dict(axis=None), dict(dtype="int64")])
def test_argsort(kw):
    sym = mx.sym.argsort(mx.sym.var("data"), name="a", **kw)
    x = rng.permutation(24).reshape(2, 3, 4) - 11.5
    roundtrip_feeds(sym, [{"data": x}], static=True)
