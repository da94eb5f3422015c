"""MXNet defaults that ncnn's own mxnet2ncnn gets wrong, each through modelport's ncnn target
against real MXNet (the attribute left out of the symbol, so MXNet's default applies)."""
import mxnet as mx
import numpy as np
import pytest

from mxnet_ncnn import as_nd, layer_types, ncnn_roundtrip, node_attrs
from oracle import random_params

data = mx.sym.var("data")


def test_batchnorm_without_fix_gamma_uses_gamma_one(tmp_path):
    """fix_gamma absent = True: MXNet ignores the stored gamma (here far from 1)."""
    sym = mx.sym.BatchNorm(data, name="bn", eps=2e-5)
    assert "fix_gamma" not in node_attrs(sym, "bn")
    shape = {"data": (1, 4, 5, 6)}
    args, aux = random_params(sym, shape)
    args["bn_gamma"] = as_nd([0.0, 3.0, -2.0, 0.0003])
    ncnn_roundtrip(sym, [shape, {"data": (1, 4, 7, 3)}], tmp_path, args=args, aux=aux)


def test_batchnorm_after_convolution_folds_with_fix_gamma(tmp_path):
    conv = mx.sym.Convolution(data, kernel=(3, 3), num_filter=4, pad=(1, 1), name="conv")
    sym = mx.sym.BatchNorm(conv, name="bn")
    shape = {"data": (1, 3, 8, 8)}
    args, aux = random_params(sym, shape)
    args["bn_gamma"] = as_nd([0.0, 3.0, -2.0, 0.5])
    [(text, cmp)] = ncnn_roundtrip(sym, [shape], tmp_path, args=args, aux=aux)
    assert layer_types(text) == ["Input", "Convolution"]
    assert ("conv", "bn") in cmp.folded


@pytest.mark.parametrize("kw,shapes", [
    (dict(pad=(1, 1)), [(1, 3, 9, 9), (1, 3, 8, 11)]),  # count_include_pad absent: True
    (dict(pad=(1, 1), pooling_convention="full"), [(1, 3, 10, 10), (1, 3, 9, 12)]),  # ceil: a tail
    (dict(pad=(1, 1), count_include_pad=False, pooling_convention="full"), [(1, 3, 10, 10)]),
    (dict(pooling_convention="full"), [(1, 3, 10, 10)]),  # a tail without pads
])
def test_padded_avg_pooling_default_count_include_pad(tmp_path, kw, shapes):
    sym = mx.sym.Pooling(data, kernel=(3, 3), stride=(2, 2), pool_type="avg", name="pool", **kw)
    assert "count_include_pad" not in node_attrs(sym, "pool") or "count_include_pad" in kw
    ncnn_roundtrip(sym, [{"data": s} for s in shapes], tmp_path, input_range=(0.0, 2.0))


def test_max_pooling_full_convention(tmp_path):
    sym = mx.sym.Pooling(data, kernel=(3, 3), stride=(2, 2), pool_type="max", pooling_convention="full",
                         pad=(1, 1), name="pool")
    ncnn_roundtrip(sym, [{"data": (1, 2, 10, 10)}, {"data": (1, 2, 7, 12)}], tmp_path)


@pytest.mark.parametrize("kw", [
    dict(kernel=(3, 3), stride=(2, 2), pad=(1, 1), num_filter=4),           # no_bias absent: True
    dict(kernel=(4, 4), stride=(2, 2), pad=(1, 1), num_filter=4, no_bias=False),
    dict(kernel=(3, 3), stride=(2, 2), pad=(1, 1), adj=(1, 1), num_filter=4),
    dict(kernel=(3, 3), stride=(2, 2), num_filter=6, num_group=2),
])
def test_deconvolution_default_no_bias(tmp_path, kw):
    sym = mx.sym.Deconvolution(data, name="deconv", **kw)
    assert ("no_bias" in node_attrs(sym, "deconv")) == ("no_bias" in kw)
    [(text, _)] = ncnn_roundtrip(sym, [{"data": (1, 4, 5, 6)}], tmp_path)
    assert layer_types(text)[1] == ("DeconvolutionDepthWise" if "num_group" in kw else "Deconvolution")


def test_concat_dim_minus_one(tmp_path):
    sym = mx.sym.Concat(data, mx.sym.Activation(data, act_type="relu", name="r"), dim=-1, name="cat")
    [(text, _)] = ncnn_roundtrip(sym, [{"data": (1, 2, 3, 4)}], tmp_path)
    assert "0=2" in next(line for line in text.splitlines() if line.startswith("Concat"))


def test_slice_channel_axis_2(tmp_path):
    sym = mx.sym.SliceChannel(data, num_outputs=3, axis=2, name="slice")
    ncnn_roundtrip(sym, [{"data": (1, 2, 6, 5)}], tmp_path)


@pytest.mark.parametrize("mode", [None, "channel", "spatial"])
def test_l2_normalization_default_mode(tmp_path, mode):
    kw = {} if mode is None else {"mode": mode}
    sym = mx.sym.L2Normalization(data, name="l2", **kw)
    assert ("mode" in node_attrs(sym, "l2")) == (mode is not None)
    ncnn_roundtrip(sym, [{"data": (1, 3, 4, 5)}], tmp_path)


def test_softmax_default_axis_on_4d(tmp_path):
    sym = mx.sym.softmax(data, name="sm")
    assert "axis" not in node_attrs(sym, "sm")
    [(text, _)] = ncnn_roundtrip(sym, [{"data": (1, 3, 4, 5)}], tmp_path)
    assert "0=2" in next(line for line in text.splitlines() if line.startswith("Softmax"))


def test_sum_pooling(tmp_path):
    sym = mx.sym.Pooling(data, kernel=(2, 2), stride=(2, 2), pool_type="sum", name="pool")
    ncnn_roundtrip(sym, [{"data": (1, 3, 8, 6)}], tmp_path)


def test_softrelu(tmp_path):
    sym = mx.sym.Activation(data, act_type="softrelu", name="act")
    ncnn_roundtrip(sym, [{"data": (1, 3, 4, 5)}], tmp_path, input_range=(-10.0, 10.0))


@pytest.mark.parametrize("kw", [dict(kernel=(3,), num_filter=5), dict(kernel=(3,), num_filter=5, pad=(1,), stride=(2,)),
                                dict(kernel=(2,), num_filter=2, dilate=(2,), no_bias=True)])
def test_1d_convolution(tmp_path, kw):
    sym = mx.sym.Convolution(data, name="conv", **kw)
    [(text, _)] = ncnn_roundtrip(sym, [{"data": (1, 4, 11)}], tmp_path)
    assert layer_types(text)[1] == "Convolution1D"


@pytest.mark.parametrize("op,const_shape", [
    ("broadcast_mul", (1, 3, 1, 1)), ("broadcast_add", (1, 1, 1, 5)), ("broadcast_sub", (1,)),
    ("broadcast_div", (1, 3, 4, 5)), ("broadcast_maximum", (4, 1)), ("broadcast_minus", (3, 1, 1)),
])
def test_broadcast_op_with_a_constant_operand(tmp_path, op, const_shape):
    const = mx.sym.var("k")
    sym = getattr(mx.sym, op)(mx.sym.Activation(data, act_type="tanh", name="t"), const, name="b")
    shape = {"data": (1, 3, 4, 5)}
    args, aux = random_params(sym, {**shape, "k": const_shape})
    args["k"] = as_nd(np.random.default_rng(1).uniform(0.5, 1.5, const_shape))
    ncnn_roundtrip(sym, [shape], tmp_path, args=args, aux=aux)


@pytest.mark.parametrize("kw", [dict(height=9, width=7), dict(height=4, width=13), dict(scale_height=2.0, scale_width=2.0, mode="odd_scale")])
def test_bilinear_resize_2d(tmp_path, kw):
    sym = mx.sym.contrib.BilinearResize2D(data, name="resize", **kw)
    assert "align_corners" not in node_attrs(sym, "resize")
    ncnn_roundtrip(sym, [{"data": (1, 2, 5, 6)}], tmp_path)
