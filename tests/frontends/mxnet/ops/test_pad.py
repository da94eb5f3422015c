"""Pad (constant, edge, reflect) against MXNet, at two input sizes."""
import json

import mxnet as mx
import pytest

from oracle import roundtrip

RUNS = [{"data": (1, 3, 5, 6)}, {"data": (2, 3, 8, 7)}]


def node_attrs(sym) -> dict:
    return json.loads(sym.tojson())["nodes"][-1].get("attrs", {})


@pytest.mark.parametrize("mode", ["constant", "edge", "reflect"])
@pytest.mark.parametrize("pad_width", [(0, 0, 0, 0, 1, 1, 1, 1), (0, 0, 0, 0, 2, 0, 1, 3), (0, 0, 0, 0, 0, 3, 2, 0)])
def test_pad(mode, pad_width):
    sym = mx.sym.Pad(mx.sym.var("data"), mode=mode, pad_width=pad_width, name="pad")
    assert "constant_value" not in node_attrs(sym)
    roundtrip(sym, RUNS[0], run_shapes=RUNS)


@pytest.mark.parametrize("value", [0.0, 1.5, -3.0])
def test_pad_constant_value(value):
    sym = mx.sym.Pad(mx.sym.var("data"), mode="constant", pad_width=(0, 0, 0, 0, 1, 2, 3, 1),
                     constant_value=value, name="pad")
    assert "constant_value" in node_attrs(sym)
    roundtrip(sym, RUNS[0], run_shapes=RUNS)


@pytest.mark.parametrize("mode", ["constant", "edge", "reflect"])
def test_pad_5d(mode):
    sym = mx.sym.Pad(mx.sym.var("data"), mode=mode, pad_width=(0, 0, 0, 0, 1, 0, 0, 2, 1, 1), name="pad")
    roundtrip(sym, {"data": (1, 2, 3, 4, 5)}, run_shapes=[{"data": (1, 2, 3, 4, 5)}, {"data": (2, 2, 4, 3, 6)}])
