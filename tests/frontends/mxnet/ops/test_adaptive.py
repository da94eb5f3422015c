"""_contrib_AdaptiveAvgPooling2D against MXNet: output sizes 1, 2, 3, 6, (2, 5), sizes that do
not divide the input, one conversion at several input sizes (the window matrices follow H, W)."""
import mxnet as mx
import numpy as np
import pytest

from oracle import roundtrip, roundtrip_feeds

RUNS = [{"data": (1, 3, 12, 12)}, {"data": (2, 3, 7, 10)}, {"data": (1, 3, 13, 6)}]


@pytest.mark.parametrize("size", [None, 1, 2, 3, 6, (2, 5), (4, 1), (5, 3)])
def test_adaptive_avg_pool(size):
    kw = {} if size is None else {"output_size": size}
    sym = mx.sym.contrib.AdaptiveAvgPooling2D(mx.sym.var("data"), name="ap", **kw)
    roundtrip(sym, RUNS[0], run_shapes=RUNS)


def test_adaptive_larger_than_input():
    """Output 6 from a 4 x 3 input: windows repeat input rows."""
    sym = mx.sym.contrib.AdaptiveAvgPooling2D(mx.sym.var("data"), output_size=6, name="ap")
    roundtrip(sym, {"data": (1, 2, 4, 3)}, run_shapes=[{"data": (1, 2, 4, 3)}, {"data": (1, 2, 5, 9)}])


def test_adaptive_static_folds_to_constants():
    sym = mx.sym.contrib.AdaptiveAvgPooling2D(mx.sym.var("data"), output_size=3, name="ap")
    x = np.random.default_rng(0).uniform(-1, 1, (1, 2, 8, 7))
    proto = roundtrip_feeds(sym, [{"data": x}], static=True)
    assert [n.op_type for n in proto.graph.node] == ["MatMul", "MatMul"]
