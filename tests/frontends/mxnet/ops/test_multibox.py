"""_contrib_MultiBoxPrior against MXNet 1.9.1: defaults, sizes x ratios, steps, offsets, clip,
non-square maps; converted static (one constant) and dynamic (follows the input size)."""
import json

import mxnet as mx
import numpy as np
import pytest

from modelport.errors import ConversionError
from oracle import convert_symbol, roundtrip, run_mxnet, run_onnx

EXACT = 1e-6  # the priors are the kernel's float32 arithmetic, so MXNet's values to within rounding


def node_attrs(sym) -> dict:
    return json.loads(sym.tojson())["nodes"][-1].get("attrs", {})


def op_types(proto) -> list:
    return [n.op_type for n in proto.graph.node]


def prior(**kw):
    return mx.sym.contrib.MultiBoxPrior(mx.sym.var("data"), name="anchors", **kw)


def check(sym, runs: list, static: bool):
    """Convert once at runs[0] (dynamic: batch and spatial sizes symbolic), compare every run with MXNet
    to EXACT (the project's tolerance would be 1e-4 of the largest coordinate)."""
    proto = convert_symbol(sym, {}, {}, input_shapes={"data": runs[0]}, dynamic=not static)
    rng = np.random.default_rng(0)
    for shape in runs:
        feeds = {"data": rng.uniform(-1, 1, shape).astype(np.float32)}
        (ref,), (got,) = run_mxnet(sym, {}, {}, feeds), run_onnx(proto, feeds)
        assert ref.shape == got.shape, f"{shape}: shape {got.shape} != MXNet {ref.shape}"
        err = float(np.abs(ref.astype(np.float64) - got).max())
        assert err <= EXACT, f"{shape}: max abs error {err:.3g}"
    return proto


CASES = [
    {},                                                            # defaults: one box of size 1 per position
    dict(sizes=(0.2, 0.272)),                                      # several sizes, ratio 1
    dict(ratios=(1, 2, 0.5)),                                      # several ratios, size 1
    dict(sizes=(0.2, 0.37, 0.71), ratios=(1, 2, 0.5, 3, 1 / 3)),   # SSD-style: 3 + 5 - 1 anchors
    dict(sizes=(0.3, 0.5), ratios=(2, 0.7)),                       # first ratio not 1: sizes use sqrt(2)
    dict(sizes=(0.1, 0.14), ratios=(1, 2), steps=(0.07, 0.11)),    # explicit (step_y, step_x)
    dict(sizes=(0.25,), ratios=(1, 3), offsets=(0.2, 0.9)),        # offsets other than the centre
    dict(sizes=(0.3, 0.5), ratios=(2, 0.7), steps=(0.125, 0.05), offsets=(0.0, 1.0)),
    dict(sizes=(0.9, 0.37), ratios=(1, 3), clip=True),             # clip: boxes at the border clamped
    dict(sizes=(0.9, 0.37), ratios=(1, 3), clip=False),            # the same unclamped (leaves [0, 1])
    dict(sizes=(0.5,), steps=(0, 0.2)),                            # one step <= 0: both auto (1/H, 1/W)
]
STATIC = [(1, 3, 5, 5), (2, 8, 7, 3), (1, 4, 3, 11), (1, 2, 19, 19)]
DYNAMIC = [[(1, 3, 5, 5), (2, 3, 9, 4)], [(1, 4, 7, 3), (1, 4, 2, 13)], [(2, 8, 19, 19), (1, 8, 10, 10)]]


@pytest.mark.parametrize("kw", CASES)
@pytest.mark.parametrize("shape", STATIC)
def test_multibox_prior_static(kw, shape):
    """Fixed input size: the priors are one constant, MXNet's values exactly."""
    sym = prior(**kw)
    assert set(node_attrs(sym)) == set(kw)
    proto = check(sym, [shape], static=True)
    assert op_types(proto) == ["Identity"]   # nothing computed at run time
    (init,) = proto.graph.initializer
    h, w = shape[2:]
    a = len(kw.get("sizes", (1,))) + len(kw.get("ratios", (1,))) - 1
    assert tuple(init.dims) == (1, h * w * a, 4)


@pytest.mark.parametrize("kw", CASES)
@pytest.mark.parametrize("runs", DYNAMIC)
def test_multibox_prior_dynamic(kw, runs):
    """Sizes symbolic: one model, computed from the input's Shape, matches MXNet at two input sizes."""
    proto = check(prior(**kw), runs, static=False)
    types = op_types(proto)
    assert "Shape" in types and types.count("Range") == 2
    assert not any(i.dims and np.prod(i.dims) > 64 for i in proto.graph.initializer)


def test_multibox_prior_clip_matters():
    """The clip cases really have boxes outside [0, 1] without clip (else they test nothing)."""
    x = mx.nd.zeros((1, 1, 5, 5))
    loose = mx.nd.contrib.MultiBoxPrior(x, sizes=(0.9, 0.37), ratios=(1, 3)).asnumpy()
    tight = mx.nd.contrib.MultiBoxPrior(x, sizes=(0.9, 0.37), ratios=(1, 3), clip=True).asnumpy()
    assert loose.min() < 0 and loose.max() > 1
    assert tight.min() == 0 and tight.max() == 1


def test_multibox_prior_roundtrip_in_a_head():
    """As in SSD: priors of a conv feature map, checked with the project's oracle at two sizes."""
    feat = mx.sym.Convolution(mx.sym.var("data"), num_filter=4, kernel=(3, 3), stride=(2, 2), name="conv")
    sym = mx.sym.contrib.MultiBoxPrior(feat, sizes=(0.2, 0.3), ratios=(1, 2, 0.5), name="anchors")
    roundtrip(sym, {"data": (1, 3, 16, 12)}, run_shapes=[{"data": (1, 3, 16, 12)}, {"data": (2, 3, 21, 33)}])


def test_multibox_prior_mixed_steps_refused():
    """MXNet refuses steps of opposite signs at run time; the converter refuses them up front."""
    with pytest.raises(ConversionError, match="step_y and step_x"):
        convert_symbol(prior(steps=(0.3, -1)), {}, {}, input_shapes={"data": (1, 3, 4, 4)})
