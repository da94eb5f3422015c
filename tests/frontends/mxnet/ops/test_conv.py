import mxnet as mx
import pytest

from oracle import roundtrip


@pytest.mark.parametrize("kw", [
    dict(kernel=(3, 3), num_filter=4),
    dict(kernel=(3, 3), num_filter=4, no_bias=True),
    dict(kernel=(3, 3), num_filter=4, stride=(2, 2), pad=(1, 1)),
    dict(kernel=(3, 3), num_filter=6, num_group=3, dilate=(2, 2), pad=(2, 2)),
    dict(kernel=(3, 3), num_filter=6, num_group=6),
    dict(kernel=(1, 5), num_filter=2, stride=(1, 2)),
])
def test_convolution_2d(kw):
    sym = mx.sym.Convolution(mx.sym.var("data"), name="conv", **kw)
    roundtrip(sym, {"data": (1, 6, 11, 13)}, run_shapes=[{"data": (1, 6, 11, 13)}, {"data": (2, 6, 16, 9)}])


def test_convolution_1d():
    sym = mx.sym.Convolution(mx.sym.var("data"), kernel=(3,), num_filter=4, pad=(1,), name="conv")
    roundtrip(sym, {"data": (1, 3, 17)})


@pytest.mark.parametrize("kw", [
    dict(kernel=(4, 4), stride=(2, 2), pad=(1, 1), num_filter=3),
    dict(kernel=(3, 3), stride=(2, 2), adj=(1, 1), num_filter=3, no_bias=False),
    dict(kernel=(4, 4), stride=(2, 2), num_filter=4, num_group=2),
    dict(kernel=(3, 3), stride=(2, 2), target_shape=(15, 15), num_filter=3),
])
def test_deconvolution(kw):
    sym = mx.sym.Deconvolution(mx.sym.var("data"), name="deconv", **kw)
    roundtrip(sym, {"data": (1, 4, 8, 8)})
