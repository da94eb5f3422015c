import mxnet as mx
import numpy as np
import pytest

from oracle import random_params, roundtrip

SHAPES = {"data": (2, 3, 5, 7)}
RUNS = [SHAPES, {"data": (1, 3, 9, 4)}]


def _ops(proto):
    return [n.op_type for n in proto.graph.node]


@pytest.mark.parametrize("act", ["relu", "sigmoid", "tanh", "softrelu", "softsign"])
def test_activation(act):
    sym = mx.sym.Activation(mx.sym.var("data"), act_type=act, name="act")
    # a wide range reaches softrelu's x > 20 shortcut and the saturated tails
    roundtrip(sym, SHAPES, run_shapes=RUNS, input_range=(-30.0, 30.0))
    roundtrip(sym, {"data": (4, 10)})


@pytest.mark.parametrize("kw", [
    dict(),                                  # act_type and slope absent: leaky, 0.25
    dict(act_type="leaky"),
    dict(act_type="leaky", slope=0.25),
    dict(act_type="leaky", slope=0.01),
    dict(act_type="elu"),                    # slope absent: alpha 0.25
    dict(act_type="elu", slope=1.0),
    dict(act_type="selu"),
    dict(act_type="gelu"),
    dict(act_type="rrelu"),                  # bounds absent: (0.125 + 0.334) / 2
    dict(act_type="rrelu", lower_bound=0.05, upper_bound=0.6),
])
def test_leaky_relu(kw):
    sym = mx.sym.LeakyReLU(mx.sym.var("data"), name="lrelu", **kw)
    if kw.get("act_type") == "rrelu":
        sym = sym[0]  # rrelu has a second output, the training-time slope mask
    text = sym.tojson()
    for key in ("act_type", "slope", "lower_bound", "upper_bound"):
        assert (f'"{key}"' in text) == (key in kw)
    roundtrip(sym, SHAPES, run_shapes=RUNS, input_range=(-4.0, 4.0))


def test_rrelu_mask_output_is_refused():
    from modelport.errors import ConversionError
    from oracle import convert_symbol

    sym = mx.sym.LeakyReLU(mx.sym.var("data"), act_type="rrelu", name="lrelu")
    assert len(sym.list_outputs()) == 2
    with pytest.raises(ConversionError, match="mask"):
        convert_symbol(sym, {}, {}, input_shapes=SHAPES)


def test_gelu_is_erf_form():
    """MXNet's gelu is the erf form; the tanh approximation differs by ~4e-4 at |x|~2."""
    sym = mx.sym.LeakyReLU(mx.sym.var("data"), act_type="gelu", name="gelu")
    proto = roundtrip(sym, {"data": (1, 2001)}, feeds={"data": np.linspace(-3, 3, 2001, dtype=np.float32)[None]})
    assert "Erf" in _ops(proto) and "Tanh" not in _ops(proto)


@pytest.mark.parametrize("shape,runs", [
    ((2, 3, 5, 7), [(2, 3, 5, 7), (1, 3, 9, 4)]),
    ((4, 6), [(4, 6), (1, 6)]),
    ((2, 4, 9), [(2, 4, 9), (3, 4, 2)]),
])
def test_prelu_per_channel(shape, runs):
    data = mx.sym.var("data")
    sym = mx.sym.LeakyReLU(data, act_type="prelu", name="prelu")
    args, aux = random_params(sym, {"data": shape}, seed=3)
    assert args["prelu_gamma"].shape == (shape[1],)
    # distinct slopes per channel so a wrong broadcast axis cannot pass
    args["prelu_gamma"] = mx.nd.array(np.linspace(-0.5, 0.9, shape[1]).astype(np.float32))
    proto = roundtrip(sym, {"data": shape}, args=args, aux=aux, run_shapes=[{"data": r} for r in runs])
    assert "PRelu" in _ops(proto)


def test_prelu_single_slope():
    data = mx.sym.var("data")
    gamma = mx.sym.var("prelu_gamma", shape=(1,))
    sym = mx.sym.LeakyReLU(data, gamma=gamma, act_type="prelu", name="prelu")
    args = {"prelu_gamma": mx.nd.array(np.array([0.3], np.float32))}
    roundtrip(sym, SHAPES, args=args, aux={}, run_shapes=RUNS)


@pytest.mark.parametrize("kw", [dict(a_min=-1.0, a_max=1.0), dict(a_min=0.0, a_max=6.0),
                                dict(a_min=-0.3, a_max=0.7)])
def test_clip(kw):
    sym = mx.sym.clip(mx.sym.var("data"), name="clip", **kw)
    proto = roundtrip(sym, SHAPES, run_shapes=RUNS, input_range=(-8.0, 8.0))
    assert _ops(proto) == ["Clip"]


@pytest.mark.parametrize("op", ["relu", "sigmoid", "tanh", "exp", "abs", "negative", "square", "softsign"])
def test_unary(op):
    sym = getattr(mx.sym, op)(mx.sym.var("data"), name="u")
    roundtrip(sym, SHAPES, run_shapes=RUNS, input_range=(-3.0, 3.0))


@pytest.mark.parametrize("op", ["log", "sqrt"])
def test_unary_positive_domain(op):
    sym = getattr(mx.sym, op)(mx.sym.var("data"), name="u")
    roundtrip(sym, SHAPES, run_shapes=RUNS, input_range=(0.01, 50.0))
