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
    # target_shape: natural size 2*7+3 = 17, t = 2 -> pad 1 (see test_deconvolution_target_shape)
    dict(kernel=(3, 3), stride=(2, 2), pad=(1, 1), target_shape=(15, 15), num_filter=3),
])
def test_deconvolution(kw):
    sym = mx.sym.Deconvolution(mx.sym.var("data"), name="deconv", **kw)
    roundtrip(sym, {"data": (1, 4, 8, 8)})


@pytest.mark.parametrize("kernel, target, pad", [
    (3, (15, 15), (1, 1)),   # t = 17 - 15 = 2: pads 1 / 1
    (3, (16, 16), (1, 1)),   # t = 1: MXNet pads ceil(1/2) = 1 at the start, 0 at the end
    (4, (16, 16), (1, 1)),   # t = 18 - 16 = 2
    (3, (14, 16), (2, 1)),   # t = 3 in H (pads 2 / 1), t = 1 in W (pads 1 / 0)
    (3, (17, 17), (0, 0)),   # t = 0
])
def test_deconvolution_target_shape(kernel, target, pad):
    """target_shape overrides pad/adj: t = stride*(in-1) + k - target, begin ceil(t/2), end floor(t/2).

    MXNet's oneDNN deconvolution only runs target_shape when ``pad`` equals the
    begin padding that target_shape implies, ceil(t/2); otherwise it fails with "could
    not create a descriptor for a dilated deconvolution" (the original case, pad
    absent, did). MXNet's result then does not depend on ``pad``, so each case passes
    the implied pad. target_shape fixes the output size, so the runs keep the spatial
    size (another input size would need another pad for oneDNN) and vary the batch.
    """
    assert pad == tuple((2 * (8 - 1) + kernel - t + 1) // 2 for t in target)
    sym = mx.sym.Deconvolution(mx.sym.var("data"), kernel=(kernel, kernel), stride=(2, 2), pad=pad,
                               target_shape=target, num_filter=3, no_bias=False, name="deconv")
    roundtrip(sym, {"data": (1, 4, 8, 8)}, run_shapes=[{"data": (1, 4, 8, 8)}, {"data": (3, 4, 8, 8)}])
