"""Comparisons (scalar and broadcast), broadcast_mod and Cast against MXNet."""
import mxnet as mx
import numpy as np
import pytest

from oracle import roundtrip, roundtrip_feeds

rng = np.random.default_rng(0)
NAMES = ["greater", "greater_equal", "lesser", "lesser_equal", "equal", "not_equal"]


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("scalar", ["absent", 0.5, -1])
def test_scalar_comparison(name, scalar):
    kw = {} if scalar == "absent" else {"scalar": scalar}
    sym = getattr(mx.sym._internal, f"_{name}_scalar")(mx.sym.var("data"), name="c", **kw)
    x = rng.choice([-1.0, 0.5, 1.0, 0.2, -3.0], (2, 3, 4, 5))   # hits the scalar exactly too
    roundtrip_feeds(sym, [{"data": x}, {"data": x[:1, :, :2]}])


@pytest.mark.parametrize("name", NAMES)
def test_broadcast_comparison(name):
    sym = getattr(mx.sym, f"broadcast_{name}")(mx.sym.var("a"), mx.sym.var("b"), name="c")
    a, b = rng.choice([0.0, 1.0, 2.0], (2, 3, 4)), rng.choice([0.0, 1.0, 2.0], (1, 3, 1))
    roundtrip_feeds(sym, [{"a": a, "b": b}], static=True)


def test_broadcast_mod():
    """Python's sign convention (the divisor's), and 0 for a zero divisor."""
    sym = mx.sym.broadcast_mod(mx.sym.var("a"), mx.sym.var("b"), name="m")
    a = np.array([[7.5, -7.5, 7.5, -7.5, 6.0, -6.0, 3.0, 0.0]])
    b = np.array([[2.0, 2.0, -2.0, -2.0, 3.0, 3.0, 0.0, 2.0]])
    roundtrip_feeds(sym, [{"a": a, "b": b}, {"a": rng.uniform(-9, 9, (3, 8)), "b": b}])


@pytest.mark.parametrize("dtype", ["float32", "float16", "float64", "int32", "int64", "int8", "bool"])
def test_cast(dtype):
    """Float to each type; integers truncate toward zero (-1.7 -> -1)."""
    sym = mx.sym.Cast(mx.sym.var("data"), dtype=dtype, name="c")
    roundtrip(sym, {"data": (1, 3, 4, 5)}, run_shapes=[{"data": (1, 3, 4, 5)}, {"data": (2, 3, 2, 7)}],
              input_range=(-5.0, 5.0))


@pytest.mark.parametrize("dtype", ["uint8", "int32", "int64"])
def test_cast_to_int_and_back(dtype):
    sym = mx.sym.cast(mx.sym.Cast(mx.sym.var("data"), dtype=dtype), dtype="float32", name="back")
    roundtrip(sym, {"data": (2, 3)}, input_range=(0.0, 100.0))
