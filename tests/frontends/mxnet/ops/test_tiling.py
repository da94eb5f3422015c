"""tile, repeat, reverse/flip, stack, broadcast_axis against MXNet at two input sizes."""
import mxnet as mx
import pytest

from oracle import roundtrip

NCHW = [{"data": (1, 3, 4, 5)}, {"data": (2, 3, 6, 3)}]


@pytest.mark.parametrize("reps", [(2,), (1, 2, 3, 1), (2, 1, 1, 1, 2), (3, 2)])
def test_tile(reps):
    roundtrip(mx.sym.tile(mx.sym.var("data"), reps=reps, name="t"), NCHW[0], run_shapes=NCHW)


@pytest.mark.parametrize("kw", [dict(repeats=2), dict(repeats=3, axis=1), dict(repeats=2, axis=-1),
                                dict(repeats=2, axis=0), dict(repeats=1, axis=2)])
def test_repeat(kw):
    roundtrip(mx.sym.repeat(mx.sym.var("data"), name="r", **kw), NCHW[0], run_shapes=NCHW)


@pytest.mark.parametrize("op, axis", [(mx.sym.reverse, (1,)), (mx.sym.reverse, (2, 3)), (mx.sym.flip, 0)])
def test_reverse(op, axis):
    roundtrip(op(mx.sym.var("data"), axis=axis, name="rev"), NCHW[0], run_shapes=NCHW)


@pytest.mark.parametrize("axis", ["absent", 1, 4, -1, -5])
def test_stack(axis):
    kw = {} if axis == "absent" else {"axis": axis}
    data = mx.sym.var("data")
    sym = mx.sym.stack(data, data * 2, data + 1, name="s", **kw)
    roundtrip(sym, NCHW[0], run_shapes=NCHW)


@pytest.mark.parametrize("kw, shape", [
    (dict(axis=(1,), size=(4,)), (2, 1, 3, 5)),
    (dict(axis=(1, 3), size=(2, 6)), (2, 1, 3, 1)),
    (dict(axis=3, size=3), (2, 3, 5, 1)),
])
def test_broadcast_axis(kw, shape):
    sym = mx.sym.broadcast_axis(mx.sym.var("data"), name="b", **kw)
    other = (1, shape[1], shape[2] + 2, shape[3])
    roundtrip(sym, {"data": shape}, run_shapes=[{"data": shape}, {"data": other}])
