"""FullyConnected and Flatten against real MXNet."""
import json

import mxnet as mx
import numpy as np
import pytest

from modelport.errors import ConversionError
from oracle import convert_symbol, random_params, roundtrip, run_mxnet

ABSENT = object()


def fc(data, **kw):
    given = {k: v for k, v in kw.items() if v is not ABSENT}
    sym = mx.sym.FullyConnected(data, name="fc", **given)
    attrs = json.loads(sym.tojson())["nodes"][-1].get("attrs", {})
    for key in kw.keys() - given.keys():
        assert key not in attrs, f"{key} should be absent from the symbol JSON"
    return sym


@pytest.mark.parametrize("flatten", [ABSENT, True])
@pytest.mark.parametrize("no_bias", [ABSENT, False, True])
def test_fc_on_4d_input_flattens_it(flatten, no_bias):
    sym = fc(mx.sym.var("data"), num_hidden=7, flatten=flatten, no_bias=no_bias)
    roundtrip(sym, {"data": (2, 3, 4, 5)})


@pytest.mark.parametrize("flatten", [ABSENT, True, False])
@pytest.mark.parametrize("no_bias", [ABSENT, True])
def test_fc_on_2d_input(flatten, no_bias):
    sym = fc(mx.sym.var("data"), num_hidden=6, flatten=flatten, no_bias=no_bias)
    roundtrip(sym, {"data": (3, 10)}, run_shapes=[{"data": (3, 10)}, {"data": (1, 10)}])


@pytest.mark.parametrize("no_bias", [ABSENT, True])
@pytest.mark.parametrize("shape", [(2, 5, 8), (2, 3, 4, 8)])
def test_fc_flatten_false_applies_to_last_axis(no_bias, shape):
    sym = fc(mx.sym.var("data"), num_hidden=4, flatten=False, no_bias=no_bias)
    proto = roundtrip(sym, {"data": shape}, run_shapes=[{"data": shape}, {"data": (1,) + shape[1:]}])
    assert "MatMul" in {n.op_type for n in proto.graph.node}


@pytest.mark.parametrize("flatten", [True, False])
def test_fc_on_1d_input(flatten):
    """MXNet reads a 1-D input as (N, 1) when flattening, as one feature row otherwise."""
    roundtrip(fc(mx.sym.var("data"), num_hidden=3, flatten=flatten), {"data": (4,)})


def test_pitfall_9_flatten_then_fc_flattens_c_h_w_in_that_order():
    data = mx.sym.var("data")
    sym = fc(mx.sym.Flatten(data, name="flat"), num_hidden=5)
    shape = (2, 3, 2, 4)  # C, H, W all different: any other order gives other numbers
    args, _ = random_params(sym, {"data": shape})
    roundtrip(sym, {"data": shape}, args=args)
    # the test is sensitive to the order: an H,W,C flatten of the same input does not match
    x = np.random.default_rng(1).uniform(-2, 2, shape).astype(np.float32)
    ref = run_mxnet(sym, args, {}, {"data": x})[0]
    w, b = args["fc_weight"].asnumpy(), args["fc_bias"].asnumpy()
    hwc = x.transpose(0, 2, 3, 1).reshape(2, -1) @ w.T + b
    assert not np.allclose(hwc, ref, atol=1e-3)


def test_flatten_alone():
    sym = mx.sym.Flatten(mx.sym.var("data"), name="flat")
    roundtrip(sym, {"data": (2, 3, 5, 4)}, run_shapes=[{"data": (2, 3, 5, 4)}, {"data": (1, 3, 7, 3)}])
    roundtrip(sym, {"data": (6,)})


def test_fc_weight_shape_contradicting_the_graph_is_reported():
    sym = fc(mx.sym.var("data"), num_hidden=4)
    args, _ = random_params(sym, {"data": (2, 10)})
    args["fc_weight"] = mx.nd.zeros((4, 9))
    with pytest.raises(ConversionError, match=r"fc_weight' has shape \(4, 9\), the graph implies \(4, 10\)"):
        convert_symbol(sym, args, {}, {"data": (2, 10)})


def test_fc_num_hidden_contradicting_the_weight_is_reported():
    sym = fc(mx.sym.var("data"), num_hidden=4, flatten=False)
    args, _ = random_params(sym, {"data": (2, 3, 10)})
    args["fc_weight"] = mx.nd.zeros((5, 10))
    with pytest.raises(ConversionError, match="fc_weight"):
        convert_symbol(sym, args, {}, {"data": (2, 3, 10)})


def test_fc_shared_weight_used_twice_with_and_without_flatten():
    """The transposed copy made for flatten=False must not replace the weight Gemm reads."""
    weight = mx.sym.var("shared_weight")
    a = mx.sym.FullyConnected(mx.sym.var("data"), weight=weight, num_hidden=4, no_bias=True, name="a")
    b = mx.sym.FullyConnected(mx.sym.var("data3d"), weight=weight, num_hidden=4, no_bias=True,
                              flatten=False, name="b")
    proto = roundtrip(mx.sym.Group([a, b]), {"data": (3, 5), "data3d": (2, 3, 5)})
    assert sorted(i.name for i in proto.graph.initializer) == ["shared_weight", "shared_weight__b"]
