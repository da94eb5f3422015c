"""Pooling against real MXNet: every pool type, convention, padding, 1-D/2-D/3-D, global.

MXNet 1.9.1's pip build runs max/avg pooling through oneDNN, which refuses pad >= kernel
and most 'same' configurations ("could not create a descriptor"): those are replaced
here by configurations MXNet can run (sum/lp pooling use MXNet's native kernel).
"""
import json

import mxnet as mx
import numpy as np
import pytest

from modelport.errors import ConversionError
from oracle import convert_symbol, roundtrip, run_mxnet, run_onnx

ABSENT = object()
SIZES_2D = [(7, 7), (8, 8), (9, 10), (13, 11)]


def pooling(**kw):
    """A Pooling symbol; ABSENT values are left out of the JSON altogether."""
    given = {k: v for k, v in kw.items() if v is not ABSENT}
    sym = mx.sym.Pooling(mx.sym.var("data"), name="pool", **given)
    attrs = json.loads(sym.tojson())["nodes"][-1].get("attrs", {})
    for key in kw.keys() - given.keys():
        assert key not in attrs, f"{key} should be absent from the symbol JSON"
    return sym


def run_at(sym, shapes):
    return roundtrip(sym, {"data": shapes[0]}, run_shapes=[{"data": s} for s in shapes])


def shapes_2d(channels=3, sizes=SIZES_2D):
    return [(1, channels, h, w) for h, w in sizes]


@pytest.mark.parametrize("convention", ["valid", "full"])
@pytest.mark.parametrize("pool_type", ["max", "avg"])
@pytest.mark.parametrize("kernel, pad", [(2, 0), (3, 0), (3, 1)])
def test_pitfall_10_output_size_matches_mxnet_at_odd_and_even_sizes(convention, pool_type, kernel, pad):
    sym = pooling(kernel=(kernel, kernel), stride=(2, 2), pad=(pad, pad), pool_type=pool_type,
                  pooling_convention=convention)
    run_at(sym, shapes_2d())


@pytest.mark.parametrize("pool_type", ["max", "avg", "sum"])
@pytest.mark.parametrize("kw", [
    dict(kernel=(2, 2), stride=(2, 2), pad=(1, 1)),    # last window can start in the end pad
    dict(kernel=(3, 3), stride=(2, 2), pad=(2, 2)),
    dict(kernel=(2, 2), stride=(3, 3), pad=(1, 1)),    # windows wholly beyond the input
    dict(kernel=(1, 1), stride=(2, 2)),
])
def test_pitfall_10_full_windows_in_padding(pool_type, kw):
    """MXNet 'full' keeps windows that ONNX ceil_mode drops; max there is -FLT_MAX, avg 0."""
    sym = pooling(pool_type=pool_type, pooling_convention="full", **kw)
    proto = convert_symbol(sym, {}, {}, {"data": (1, 2, 7, 7)})
    rng = np.random.default_rng(3)
    for shape in shapes_2d(2):
        x = rng.uniform(-2, 2, shape).astype(np.float32)
        ref, got = run_mxnet(sym, {}, {}, {"data": x})[0], run_onnx(proto, {"data": x})[0]
        assert ref.shape == got.shape
        # exact compare: max pooling is exact, and -FLT_MAX cells would hide any tolerance
        np.testing.assert_allclose(got, ref, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("kw", [
    dict(kernel=(2, 2), stride=(2, 2), pad=(1, 1)),
    dict(kernel=(3, 3), stride=(2, 2), pad=(2, 2)),
    dict(kernel=(3, 3), stride=(3, 3), pad=(1, 1)),
])
def test_pitfall_10_full_avg_without_pad_count_with_windows_in_padding(kw):
    sym = pooling(pool_type="avg", pooling_convention="full", count_include_pad=False, **kw)
    run_at(sym, shapes_2d(2))


def test_pitfall_11_one_conversion_serves_every_input_size():
    """Converted at 8x8, run at sizes where floor and ceil differ: shapes follow MXNet."""
    sym = pooling(kernel=(3, 3), stride=(2, 2), pool_type="max", pooling_convention="full")
    proto = roundtrip(sym, {"data": (1, 3, 8, 8)},
                      run_shapes=[{"data": s} for s in shapes_2d(3, [(8, 8), (7, 7), (9, 10), (13, 11), (6, 5)])])
    dims = proto.graph.input[0].type.tensor_type.shape.dim
    assert [d.dim_param or d.dim_value for d in dims] == ["N", 3, "H", "W"]


@pytest.mark.parametrize("pool_type", [ABSENT, "max", "avg", "sum"])
@pytest.mark.parametrize("convention", [ABSENT, "valid", "full"])
@pytest.mark.parametrize("stride", [ABSENT, (1, 1), (2, 3)])
def test_absent_and_explicit_defaults(pool_type, convention, stride):
    sym = pooling(kernel=(3, 2), pad=(1, 1), pool_type=pool_type, pooling_convention=convention, stride=stride)
    run_at(sym, shapes_2d(2, [(9, 10), (8, 7)]))


@pytest.mark.parametrize("convention", ["valid", "full"])
@pytest.mark.parametrize("include", [ABSENT, None, True, False])  # None: MXNet writes 'None'
def test_avg_count_include_pad(convention, include):
    sym = pooling(kernel=(3, 3), stride=(2, 2), pad=(1, 1), pool_type="avg",
                  pooling_convention=convention, count_include_pad=include)
    run_at(sym, shapes_2d(2, [(7, 7), (8, 9)]))


def test_count_include_pad_absent_behaves_as_true_in_mxnet():
    """Pins Pooling's kernel_defaults count_include_pad = True (and 'None' alike)."""
    x = {"data": np.random.default_rng(0).uniform(-2, 2, (1, 2, 7, 7)).astype(np.float32)}
    outs = {key: run_mxnet(pooling(kernel=(3, 3), pad=(1, 1), pool_type="avg", count_include_pad=key),
                           {}, {}, x)[0] for key in (ABSENT, None, True, False)}
    np.testing.assert_array_equal(outs[ABSENT], outs[True])
    np.testing.assert_array_equal(outs[None], outs[True])
    assert not np.allclose(outs[ABSENT], outs[False])


@pytest.mark.parametrize("p_value", [1, 2, 3])
@pytest.mark.parametrize("convention", ["valid", "full"])
def test_lp_pooling(p_value, convention):
    """MXNet's lp: p=1 is a signed sum (no abs), p=3 a signed cube root of the sum of cubes."""
    sym = pooling(kernel=(3, 3), stride=(2, 2), pad=(1, 1), pool_type="lp", p_value=p_value,
                  pooling_convention=convention)
    run_at(sym, shapes_2d(2, [(7, 7), (8, 10)]))


@pytest.mark.parametrize("pool_type, extra", [("max", {}), ("avg", {}), ("sum", {}), ("lp", dict(p_value=1)),
                                              ("lp", dict(p_value=2)), ("lp", dict(p_value=3))])
def test_global_pool_ignores_kernel_stride_pad(pool_type, extra):
    sym = pooling(kernel=(3, 3), stride=(2, 2), pad=(1, 1), global_pool=True, pool_type=pool_type,
                  pooling_convention="full", **extra)
    run_at(sym, [(2, 3, 7, 9), (1, 3, 4, 4), (1, 3, 1, 13)])


@pytest.mark.parametrize("pool_type", ["max", "avg", "sum"])
def test_global_pool_without_kernel_1d_and_3d(pool_type):
    run_at(pooling(global_pool=True, pool_type=pool_type), [(1, 4, 11), (2, 4, 6)])
    run_at(pooling(global_pool=True, pool_type=pool_type), [(1, 2, 3, 5, 4)])


@pytest.mark.parametrize("pool_type, extra", [("max", {}), ("avg", {}), ("avg", dict(count_include_pad=False)),
                                              ("sum", {}), ("lp", dict(p_value=2))])
@pytest.mark.parametrize("convention", ["valid", "full"])
def test_1d(pool_type, extra, convention):
    sym = pooling(kernel=(3,), stride=(2,), pad=(1,), pool_type=pool_type, pooling_convention=convention, **extra)
    run_at(sym, [(1, 3, 11), (2, 3, 10), (1, 3, 7)])


@pytest.mark.parametrize("pool_type, kernel, stride", [
    # oneDNN runs max 'same' only for kernel 1 and avg 'same' only for kernel == stride;
    # sum and lp take MXNet's own kernel and run everywhere.
    ("max", 1, 2), ("avg", 2, 2), ("avg", 3, 3), ("sum", 3, 1), ("sum", 3, 2), ("sum", 4, 3),
    ("lp", 2, 1),
])
def test_same_convention_1d(pool_type, kernel, stride):
    """MXNet 1.9.1 reads pad[0..2] for 'same' whatever the kernel's rank: pad must be (0, 0, 0)."""
    extra = dict(p_value=3) if pool_type == "lp" else {}
    sym = pooling(kernel=(kernel,), stride=(stride,), pad=(0, 0, 0), pool_type=pool_type,
                  pooling_convention="same", **extra)
    run_at(sym, [(1, 2, 9), (1, 2, 10), (1, 2, 12), (1, 2, 4)])


@pytest.mark.parametrize("pool_type", ["max", "avg", "sum"])
def test_3d(pool_type):
    sym = pooling(kernel=(2, 3, 2), stride=(2, 2, 1), pad=(1, 0, 1), pool_type=pool_type, pooling_convention="full")
    run_at(sym, [(1, 2, 5, 6, 7), (1, 2, 6, 7, 5)])


@pytest.mark.parametrize("pool_type", ["sum", "lp"])
def test_pad_not_smaller_than_kernel(pool_type):
    """MXNet's own kernel (sum, lp) accepts pad >= kernel; onnxruntime pools do not."""
    sym = pooling(kernel=(2, 2), stride=(2, 1), pad=(2, 3), pool_type=pool_type, p_value=2)
    run_at(sym, shapes_2d(2, [(7, 8), (6, 5)]))


@pytest.mark.parametrize("kw, message", [
    (dict(pool_type="lp", kernel=(2, 2)), "p_value"),
    (dict(pool_type="max", kernel=(2, 2), layout="NHWC"), "layout NHWC"),
    (dict(pool_type="max", kernel=(2,)), "does not fit"),
])
def test_refused_with_a_clear_message(kw, message):
    sym = pooling(**kw)
    with pytest.raises(ConversionError, match=message):
        convert_symbol(sym, {}, {}, {"data": (1, 2, 8, 8)})
