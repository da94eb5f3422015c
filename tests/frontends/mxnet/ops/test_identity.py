import json

import mxnet as mx
import pytest

from oracle import roundtrip

SHAPES = {"data": (2, 3, 5, 7)}
RUNS = [SHAPES, {"data": (1, 3, 9, 4)}]


def _ops(proto):
    return [n.op_type for n in proto.graph.node]


@pytest.mark.parametrize("kw", [
    dict(),                             # p absent (0.5), mode absent ('training')
    dict(p=0.5, mode="training"),
    dict(p=0.9),
    dict(p=0.3, axes=(2, 3)),
    dict(p=0.0, mode="always"),         # 'always' drops at random at inference when p > 0
])
def test_dropout_is_identity(kw):
    sym = mx.sym.Dropout(mx.sym.var("data"), name="drop", **kw)
    if not kw:
        assert '"p"' not in sym.tojson() and '"mode"' not in sym.tojson()
    proto = roundtrip(sym, SHAPES, run_shapes=RUNS)
    assert _ops(proto) == ["Identity"]
    assert proto.graph.output[0].name == "drop"


def test_pitfall_12_blockgrad_is_identity():
    sym = mx.sym.BlockGrad(mx.sym.var("data"), name="bg")
    proto = roundtrip(sym, SHAPES, run_shapes=RUNS)
    assert _ops(proto) == ["Identity"] and proto.graph.output[0].name == "bg"


def test_pitfall_12_stop_gradient_is_identity():
    sym = mx.sym.stop_gradient(mx.sym.var("data"), name="sg")
    assert json.loads(sym.tojson())["nodes"][-1]["op"] == "BlockGrad"  # stored under the canonical name
    roundtrip(sym, SHAPES)


@pytest.mark.parametrize("kw", [dict(), dict(grad_scale=3.0, normalization="batch", valid_thresh=0.5)])
def test_pitfall_12_makeloss_is_identity(kw):
    sym = mx.sym.MakeLoss(mx.sym.var("data"), name="loss", **kw)
    proto = roundtrip(sym, SHAPES, run_shapes=RUNS)
    assert _ops(proto) == ["Identity"] and proto.graph.output[0].name == "loss"


def test_pitfall_12_makeloss_after_compute_keeps_value():
    data = mx.sym.var("data")
    sym = mx.sym.MakeLoss(mx.sym.square(data - 1.0), grad_scale=0.5, name="loss")
    roundtrip(sym, SHAPES, run_shapes=RUNS)


@pytest.mark.parametrize("make", [mx.sym.identity, mx.sym._internal._copy], ids=["identity", "_copy"])
def test_copy_and_identity(make):
    sym = make(mx.sym.var("data"), name="copy")
    proto = roundtrip(sym, SHAPES, run_shapes=RUNS)
    assert _ops(proto) == ["Identity"] and proto.graph.output[0].name == "copy"


def test_identity_names_survive_inside_chain():
    data = mx.sym.var("data")
    drop = mx.sym.Dropout(mx.sym.relu(data, name="r"), p=0.2, name="drop")
    sym = mx.sym.BlockGrad(drop * 2.0, name="bg")
    proto = roundtrip(sym, SHAPES, run_shapes=RUNS)
    producer = {o: n for n in proto.graph.node for o in n.output}
    assert producer["drop"].op_type == "Identity" and list(producer["drop"].input) == ["r"]
    assert producer["bg"].op_type == "Identity"
