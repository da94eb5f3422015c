"""sum/mean/max/min, dot and batch_dot against real MXNet."""
import json

import mxnet as mx
import numpy as np
import pytest

from modelport.errors import ConversionError
from oracle import convert_symbol, roundtrip

ABSENT = object()
SHAPES = [{"data": (2, 3, 4, 5)}, {"data": (1, 3, 7, 2)}]


def build(op, *inputs, **kw):
    given = {k: v for k, v in kw.items() if v is not ABSENT}
    sym = getattr(mx.sym, op)(*inputs, name="node", **given)
    attrs = json.loads(sym.tojson())["nodes"][-1].get("attrs", {})
    for key in kw.keys() - given.keys():
        assert key not in attrs, f"{key} should be absent from the symbol JSON"
    return sym


@pytest.mark.parametrize("op", ["sum", "mean", "max", "min"])
@pytest.mark.parametrize("axis", [ABSENT, None, (), 1, -1, (0, 2), (1, -1), (0, 1, 2, 3)])
@pytest.mark.parametrize("keepdims", [ABSENT, False, True])
def test_reduce_axes_and_keepdims(op, axis, keepdims):
    sym = build(op, mx.sym.var("data"), axis=axis, keepdims=keepdims)
    roundtrip(sym, SHAPES[0], run_shapes=SHAPES)


@pytest.mark.parametrize("op", ["sum", "mean", "max", "min"])
@pytest.mark.parametrize("axis", [ABSENT, (), 1, -1, (0, -2), (0, 1, 2, 3)])
@pytest.mark.parametrize("keepdims", [False, True])
def test_reduce_exclude_complement_axes(op, axis, keepdims):
    """exclude=True reduces the axes not listed; none listed: all; all listed: none."""
    sym = build(op, mx.sym.var("data"), axis=axis, keepdims=keepdims, exclude=True)
    roundtrip(sym, SHAPES[0], run_shapes=SHAPES)


@pytest.mark.parametrize("op", ["sum", "max"])
def test_reduce_exclude_false_explicit(op):
    roundtrip(build(op, mx.sym.var("data"), axis=(1, 2), exclude=False), SHAPES[0], run_shapes=SHAPES)


def test_reduce_axis_out_of_range_is_refused():
    with pytest.raises(ConversionError, match="out of range"):
        convert_symbol(build("sum", mx.sym.var("data"), axis=4), {}, {}, {"data": (2, 3, 4, 5)})


def dot_case(sa, sb, **kw):
    sym = build("dot", mx.sym.var("a"), mx.sym.var("b"), **kw)
    return roundtrip(sym, {"a": sa, "b": sb})


@pytest.mark.parametrize("ta", [ABSENT, False, True])
@pytest.mark.parametrize("tb", [ABSENT, False, True])
def test_dot_2d(ta, tb):
    sa = (4, 3) if ta is True else (3, 4)
    sb = (5, 4) if tb is True else (4, 5)
    proto = dot_case(sa, sb, transpose_a=ta, transpose_b=tb)
    assert [n.op_type for n in proto.graph.node] == ["Gemm"]


@pytest.mark.parametrize("sa, sb, kw", [
    ((3,), (3,), {}),                       # inner product: shape (1,)
    ((3,), (3, 4), {}),
    ((2, 3), (3,), {}),
    ((3,), (4, 3), dict(transpose_b=True)),
    ((2, 3, 4), (4, 5), {}),                # tensordot: last axis of a, first of b
    ((2, 3, 4), (4, 5, 6), {}),
    ((4, 2, 3), (4, 5), dict(transpose_a=True)),
    ((2, 3, 4), (5, 6, 4), dict(transpose_b=True)),
    ((4, 2, 3), (5, 6, 4), dict(transpose_a=True, transpose_b=True)),
    ((4, 6), (6, 2, 3), {}),
])
def test_dot_nd_contracts_last_axis_of_a_with_first_of_b(sa, sb, kw):
    dot_case(sa, sb, **kw)


def test_dot_nd_with_symbolic_batch():
    """Data input with a symbolic batch: the output shape is assembled at run time."""
    sym = build("dot", mx.sym.var("data"), mx.sym.var("w"))
    w = mx.nd.array(np.random.default_rng(0).normal(size=(5, 6)).astype(np.float32))
    roundtrip(sym, {"data": (2, 3, 6, 5)}, args={"w": w},
              run_shapes=[{"data": (2, 3, 6, 5)}, {"data": (1, 3, 4, 5)}])


def test_dot_transpose_a_of_1d_is_refused():
    sym = build("dot", mx.sym.var("a"), mx.sym.var("b"), transpose_a=True)
    with pytest.raises(ConversionError, match="transpose_a"):
        convert_symbol(sym, {}, {}, {"a": (3,), "b": (3, 2)})


@pytest.mark.parametrize("ta", [ABSENT, False, True])
@pytest.mark.parametrize("tb", [ABSENT, True])
@pytest.mark.parametrize("batch", [(2,), (2, 3)])
def test_batch_dot(ta, tb, batch):
    sa = batch + ((4, 3) if ta is True else (3, 4))
    sb = batch + ((5, 4) if tb is True else (4, 5))
    sym = build("batch_dot", mx.sym.var("a"), mx.sym.var("b"), transpose_a=ta, transpose_b=tb)
    roundtrip(sym, {"a": sa, "b": sb})
