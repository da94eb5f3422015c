"""shape_array, slice_like, ones_like, zeros_like, broadcast_like, reshape_like against MXNet,
converted once with free batch and spatial sizes (channels stay fixed, as in every conversion)
and run at two input sizes: the shapes are read at run time."""
import mxnet as mx
import numpy as np
import pytest

from oracle import convert_symbol, random_params, roundtrip, roundtrip_feeds, run_mxnet, run_onnx

rng = np.random.default_rng(0)


def op_types(proto):
    return [n.op_type for n in proto.graph.node]


def arrays(*shapes):
    return {name: rng.uniform(-2, 2, shape) for name, shape in shapes}


def test_shape_array_stays_symbolic():
    """One conversion serves two input sizes: Shape is not folded when sizes are free."""
    data = mx.sym.var("data")
    sym = mx.sym.shape_array(data, name="shape")
    runs = [arrays(("data", (1, 3, 8, 10))), arrays(("data", (2, 3, 13, 7)))]
    proto = roundtrip_feeds(sym, runs)
    assert op_types(proto) == ["Shape"]


def test_shape_array_folds_when_static():
    sym = mx.sym.shape_array(mx.sym.var("data"), name="shape")
    proto = roundtrip_feeds(sym, [arrays(("data", (1, 3, 8, 10)))], static=True)
    assert op_types(proto) == ["Identity"]  # a constant


def test_shape_arithmetic_from_a_feature_map():
    """YOLO-style: a grid size from shape_array feeds a computation; two input sizes, one model."""
    data = mx.sym.var("data")
    hw = mx.sym.slice_axis(mx.sym.shape_array(data), axis=0, begin=2, end=4)
    sym = mx.sym.broadcast_mul(mx.sym.Cast(hw, dtype="float32"), mx.sym.sum(data), name="out")
    roundtrip_feeds(sym, [arrays(("data", (1, 2, 4, 6))), arrays(("data", (1, 2, 9, 5)))])


@pytest.mark.parametrize("axes, runs", [
    ((), [((2, 3, 9, 9), (1, 2, 5, 4)), ((2, 3, 12, 11), (2, 2, 7, 3))]),     # axes absent: all axes
    ((2, 3), [((1, 3, 9, 9), (1, 8, 5, 4)), ((2, 3, 12, 11), (2, 8, 7, 3))]),
    ((-1,), [((1, 3, 9, 9), (1, 8, 5, 4)), ((2, 3, 12, 11), (2, 8, 7, 3))]),  # negative axis
    ((1,), [((1, 6, 4, 4), (1, 2, 9, 9)), ((2, 6, 5, 3), (2, 2, 1, 1))]),
])
def test_slice_like(axes, runs):
    kw = {"axes": axes} if axes else {}
    sym = mx.sym.slice_like(mx.sym.var("data"), mx.sym.var("like"), name="sl", **kw)
    proto = roundtrip_feeds(sym, [arrays(("data", d), ("like", l)) for d, l in runs])
    assert "Slice" in op_types(proto)


def test_slice_like_anchors_follow_the_feature_map():
    """Precomputed anchors (a weight) cut to a feature map's size, at two input sizes."""
    anchors = mx.sym.var("anchors")
    sym = mx.sym.slice_like(anchors, mx.sym.var("data"), axes=(2, 3), name="sl")
    args = {"anchors": mx.nd.array(rng.normal(0, 1, (1, 4, 16, 16)).astype(np.float32))}
    roundtrip_feeds(sym, [arrays(("data", (1, 3, 5, 6))), arrays(("data", (2, 3, 9, 13)))], args=args)


@pytest.mark.parametrize("op", [mx.sym.ones_like, mx.sym.zeros_like])
def test_ones_zeros_like(op):
    sym = op(mx.sym.var("data"), name="f")
    roundtrip(sym, {"data": (1, 3, 4, 5)}, run_shapes=[{"data": (1, 3, 4, 5)}, {"data": (2, 3, 7, 2)}])


@pytest.mark.parametrize("op", [mx.sym.ones_like, mx.sym.zeros_like])
@pytest.mark.parametrize("cast_to, dtype", [
    (None, "int64"),        # float32 input: MXNet keeps float32, whatever dtype says
    (None, "float16"),
    ("int64", "int64"),     # GluonCV CenterNet: Cast(int64) -> zeros_like(dtype='int64')
    ("int32", "float32"),   # an int32 input stays int32
])
def test_ones_zeros_like_ignore_dtype(op, cast_to, dtype):
    """MXNet 1.9.1 stores ``dtype`` on ones_like/zeros_like (no parameter parser) and ignores it:
    the output has the input's type. The conversion accepts the attribute and does the same."""
    data = mx.sym.var("data")
    x = mx.sym.Cast(data, dtype=cast_to, name="c") if cast_to else data
    sym = op(x, dtype=dtype, name="f")
    assert sym.tojson().count(f'"dtype": "{dtype}"')  # the attribute really is in the JSON
    feeds = {"data": rng.uniform(-3, 3, (2, 3, 4)).astype(np.float32)}
    args, aux = random_params(sym, {"data": (2, 3, 4)})
    proto = convert_symbol(sym, args, aux, input_shapes={"data": (2, 3, 4)})
    (ref,), (got,) = run_mxnet(sym, args, aux, feeds), run_onnx(proto, feeds)
    assert got.dtype == ref.dtype == np.dtype(cast_to or "float32")
    np.testing.assert_array_equal(got, ref)


def test_ones_zeros_like_other_attributes_still_fail():
    """Only dtype is ignored: any other stray attribute is still reported as unknown."""
    from modelport.errors import ConversionError

    sym = mx.sym.zeros_like(mx.sym.var("data"), dtype="int64", axis=1, name="z")
    args, aux = random_params(sym, {"data": (2, 3)})
    with pytest.raises(ConversionError, match=r"unknown attribute\(s\) axis"):
        convert_symbol(sym, args, aux, input_shapes={"data": (2, 3)})


def test_zeros_like_of_nan_is_zero():
    sym = mx.sym.zeros_like(mx.sym.var("data"), name="z")
    feeds = {"data": np.array([[np.nan, 1.0, np.inf]], np.float32)}
    roundtrip_feeds(sym, [feeds])


@pytest.mark.parametrize("kw, lhs, rhs", [
    ({}, (1, 3, 1, 1), [(2, 3, 4, 5), (1, 3, 6, 2)]),
    ({}, (1, 1), [(3, 4), (5, 4)]),
    (dict(lhs_axes=(0,), rhs_axes=(2,)), (1, 4), [(2, 3, 6), (7, 3, 5)]),
    (dict(lhs_axes=(-1, 0), rhs_axes=(0, -1)), (1, 4, 1), [(3, 2, 5), (6, 2, 2)]),
])
def test_broadcast_like(kw, lhs, rhs):
    sym = mx.sym.broadcast_like(mx.sym.var("lhs"), mx.sym.var("rhs"), name="bl", **kw)
    roundtrip_feeds(sym, [arrays(("lhs", lhs), ("rhs", r)) for r in rhs])


@pytest.mark.parametrize("kw, lhs, rhs", [
    ({}, [(2, 12), (3, 12)], [(2, 3, 4), (3, 3, 4)]),
    (dict(lhs_begin=1, lhs_end=2, rhs_begin=1, rhs_end=3), [(2, 12, 5), (3, 12, 4)], [(7, 3, 4), (1, 3, 4)]),
    (dict(lhs_begin=-1, rhs_begin=0, rhs_end=-1), [(2, 12), (3, 12)], [(3, 4, 9), (3, 4, 2)]),
    (dict(lhs_begin=0, lhs_end=2, rhs_begin=-1), [(2, 3, 5), (2, 3, 7)], [(7, 6), (1, 6)]),
])
def test_reshape_like(kw, lhs, rhs):
    sym = mx.sym.reshape_like(mx.sym.var("lhs"), mx.sym.var("rhs"), name="rl", **kw)
    roundtrip_feeds(sym, [arrays(("lhs", l), ("rhs", r)) for l, r in zip(lhs, rhs)])
