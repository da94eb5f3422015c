import json

import mxnet as mx
import numpy as np
import pytest

from oracle import assert_match, convert_symbol, random_params, roundtrip, run_mxnet, run_onnx

SHAPE = (2, 3, 5, 7)
RUNS = [{"a": SHAPE, "b": SHAPE}, {"a": (1, 3, 9, 4), "b": (1, 3, 9, 4)}]


def _ops(proto):
    return [n.op_type for n in proto.graph.node]


class _Renamed:
    """A symbol whose JSON names its last node's operator ``op`` (an older MXNet's name)."""

    def __init__(self, sym, op):
        doc = json.loads(sym.tojson())
        doc["nodes"][-1]["op"] = op
        self.text = json.dumps(doc)

    def tojson(self):
        return self.text


def _roundtrip_renamed(sym, op, shapes, runs):
    args, aux = random_params(sym, shapes)
    proto = convert_symbol(_Renamed(sym, op), args, aux, input_shapes=shapes)
    rng = np.random.default_rng(7)
    for run in runs:
        feeds = {k: rng.uniform(0.5, 2.0, v).astype(np.float32) for k, v in run.items()}
        ref = run_mxnet(mx.sym.load_json(_Renamed(sym, op).tojson()), args, aux, feeds)
        assert_match(ref[0], run_onnx(proto, feeds)[0])
    return proto


@pytest.mark.parametrize("op,onnx_op", [("elemwise_add", "Add"), ("elemwise_sub", "Sub"),
                                        ("elemwise_mul", "Mul"), ("elemwise_div", "Div")])
def test_elemwise(op, onnx_op):
    sym = getattr(mx.sym, op)(mx.sym.var("a"), mx.sym.var("b"), name="e")
    proto = roundtrip(sym, RUNS[0], run_shapes=RUNS, input_range=(0.5, 2.0))
    assert _ops(proto) == [onnx_op]


@pytest.mark.parametrize("op,onnx_op", [("_plus", "Add"), ("_minus", "Sub"), ("_mul", "Mul"), ("_div", "Div"),
                                        ("_Plus", "Add"), ("_Minus", "Sub"), ("_Mul", "Mul"), ("_Div", "Div")])
def test_legacy_elemwise_names(op, onnx_op):
    """Old checkpoints store _Plus/_plus...; today's MXNet loads them as elemwise_*."""
    sym = getattr(mx.sym._internal, op)(mx.sym.var("a"), mx.sym.var("b"), name="e")
    proto = _roundtrip_renamed(sym, op, RUNS[0], RUNS)
    assert _ops(proto) == [onnx_op]


BROADCAST = ["broadcast_add", "broadcast_sub", "broadcast_mul", "broadcast_div", "broadcast_plus",
             "broadcast_minus", "broadcast_maximum", "broadcast_minimum", "broadcast_power"]


@pytest.mark.parametrize("op", BROADCAST)
@pytest.mark.parametrize("b_shape", [(1, 3, 1, 1), (1, 1, 5, 1), (3, 1, 7), (7,), (2, 3, 5, 7)])
def test_broadcast(op, b_shape):
    sym = getattr(mx.sym, op)(mx.sym.var("a"), mx.sym.var("b"), name="bc")
    roundtrip(sym, {"a": SHAPE, "b": b_shape}, input_range=(0.5, 2.0))


@pytest.mark.parametrize("op", ["broadcast_sub", "broadcast_div", "broadcast_power"])
def test_broadcast_lhs_smaller(op):
    sym = getattr(mx.sym, op)(mx.sym.var("a"), mx.sym.var("b"), name="bc")
    roundtrip(sym, {"a": (1, 3, 1, 1), "b": SHAPE}, input_range=(0.5, 2.0))


@pytest.mark.parametrize("op", ["broadcast_sub", "broadcast_mul", "broadcast_add"])
def test_pitfall_6_constant_operand_stays_initializer(op):
    """A mean image / scale from the params file feeding a broadcast op stays an initializer."""
    data = mx.sym.var("data")
    mean = mx.sym.var("mean", shape=(1, 3, 1, 1))
    sym = getattr(mx.sym, op)(data, mean, name="pre")
    args = {"mean": mx.nd.array(np.array([123.68, 116.78, 103.94], np.float32).reshape(1, 3, 1, 1))}
    proto = roundtrip(sym, {"data": SHAPE}, args=args, aux={},
                      run_shapes=[{"data": SHAPE}, {"data": (1, 3, 9, 4)}], input_range=(0.0, 255.0))
    inits = {i.name: i for i in proto.graph.initializer}
    assert "mean" in inits and list(inits["mean"].dims) == [1, 3, 1, 1]
    assert [i.name for i in proto.graph.input] == ["data"]


SCALAR = ["_plus_scalar", "_minus_scalar", "_rminus_scalar", "_mul_scalar", "_div_scalar", "_rdiv_scalar",
          "_power_scalar", "_rpower_scalar", "_maximum_scalar", "_minimum_scalar"]


@pytest.mark.parametrize("op", SCALAR)
@pytest.mark.parametrize("scalar", [None, 0.7, 3.0, -1.25])
def test_scalar(op, scalar):
    kw = {} if scalar is None else {"scalar": scalar}
    if op == "_rpower_scalar" and scalar is not None and scalar < 0:
        kw["scalar"] = 2.5  # a negative base to a real power is NaN
    sym = getattr(mx.sym._internal, op)(mx.sym.var("data"), name="s", **kw)
    if scalar is None:
        assert '"scalar"' not in sym.tojson()  # absent: MXNet's default 1
    # positive inputs keep pow real; non-integer scalars catch an argument swap
    roundtrip(sym, {"data": SHAPE}, run_shapes=[{"data": SHAPE}, {"data": (1, 3, 9, 4)}], input_range=(0.3, 2.5))


def test_scalar_reversed_puts_scalar_first():
    proto = roundtrip(mx.sym._internal._rminus_scalar(mx.sym.var("data"), scalar=5.0, name="s"), {"data": SHAPE})
    node = proto.graph.node[0]
    assert node.op_type == "Sub" and node.input[1] == "data"


def test_pitfall_6_preprocessing_chain_is_kept():
    """(data - 127.5) * 0.0078125 in front of a convolution: both ops stay, raw pixels in."""
    data = mx.sym.var("data")
    pre = (data - 127.5) * 0.0078125
    sym = mx.sym.Convolution(pre, kernel=(3, 3), num_filter=4, name="conv")
    proto = roundtrip(sym, {"data": (1, 3, 8, 8)}, run_shapes=[{"data": (1, 3, 8, 8)}, {"data": (2, 3, 11, 7)}],
                      input_range=(0.0, 255.0))
    assert _ops(proto) == ["Sub", "Mul", "Conv"]
    consts = {i.name: i for i in proto.graph.initializer}
    scalars = sorted(float(np.frombuffer(c.raw_data, np.float32)[0]) if c.raw_data else c.float_data[0]
                     for c in consts.values() if not c.dims)
    assert scalars == [0.0078125, 127.5]


def test_pitfall_6_preprocessing_chain_guessed_input_shape():
    """Without user shapes the input rank is guessed through the preprocessing ops."""
    data = mx.sym.var("data")
    pre = mx.sym._internal._rminus_scalar(data, scalar=1.0) / 255.0 + 0.5
    sym = mx.sym.Convolution(pre, kernel=(1, 1), num_filter=2, name="conv")
    args, aux = random_params(sym, {"data": (1, 3, 6, 6)})
    proto = convert_symbol(sym, args, aux, input_shapes=None)
    feeds = {"data": np.random.default_rng(0).uniform(0, 255, (1, 3, 6, 5)).astype(np.float32)}
    assert_match(run_mxnet(sym, args, aux, feeds)[0], run_onnx(proto, feeds)[0])
    assert _ops(proto) == ["Sub", "Div", "Add", "Conv"]


@pytest.mark.parametrize("make", [mx.sym.add_n, mx.sym.ElementWiseSum], ids=["add_n", "ElementWiseSum"])
@pytest.mark.parametrize("n", [1, 2, 4])
def test_add_n(make, n):
    names = [f"x{i}" for i in range(n)]
    sym = make(*[mx.sym.var(k) for k in names], name="sum")
    shapes = {k: SHAPE for k in names}
    proto = roundtrip(sym, shapes, run_shapes=[shapes, {k: (1, 3, 9, 4) for k in names}])
    assert _ops(proto) == ["Sum"]


PY_OPERATORS = {
    "add": lambda d: d + 1.5, "sub": lambda d: d - 1.5, "rsub": lambda d: 1.5 - d,
    "mul": lambda d: d * 1.5, "div": lambda d: d / 1.5, "rdiv": lambda d: 1.5 / d,
    "pow": lambda d: d ** 1.5, "rpow": lambda d: 1.5 ** d, "int_pow": lambda d: d ** 2,
    "max": lambda d: mx.sym.maximum(d, 0.9), "min": lambda d: mx.sym.minimum(0.9, d),
    "neg": lambda d: -d,
}


@pytest.mark.parametrize("name", PY_OPERATORS)
def test_python_operator_forms(name):
    """The JSON MXNet writes for Python operators on symbols (is_int and all)."""
    sym = PY_OPERATORS[name](mx.sym.var("data"))
    roundtrip(sym, {"data": SHAPE}, run_shapes=[{"data": SHAPE}, {"data": (1, 3, 9, 4)}], input_range=(0.3, 2.5))
