"""Concat, SliceChannel/split, slice, slice_axis, Crop against MXNet, at several input sizes."""
import json

import mxnet as mx
import numpy as np
import pytest
from onnx.reference import ReferenceEvaluator

from oracle import assert_match, random_params, roundtrip, run_mxnet

NCHW = [{"data": (1, 4, 6, 5)}, {"data": (2, 4, 9, 7)}]


def node_attrs(sym) -> dict:
    return json.loads(sym.tojson())["nodes"][-1].get("attrs", {})


@pytest.mark.parametrize("dim", ["absent", 1, 0, 2, 3, -1, -3])
def test_concat(dim):
    kw = {} if dim == "absent" else {"dim": dim}
    a, b, c = mx.sym.var("a"), mx.sym.var("b"), mx.sym.var("c")
    sym = mx.sym.Concat(a, b, c, name="cat", **kw)
    assert ("dim" in node_attrs(sym)) == (dim != "absent")
    axis = 1 if dim == "absent" else dim % 4

    def shapes(base):
        out = {}
        for name, extra in zip("abc", (1, 2, 3)):
            shape = list(base)
            shape[axis] += extra
            out[name] = tuple(shape)
        return out
    runs = [shapes((1, 3, 5, 4)), shapes((2, 3, 7, 3))] if axis in (1, 3) or dim == "absent" else [shapes((1, 3, 5, 4))]
    roundtrip(sym, runs[0], run_shapes=runs)


def test_concat_single_input():
    sym = mx.sym.Concat(mx.sym.var("data"), num_args=1, name="cat")
    roundtrip(sym, NCHW[0], run_shapes=NCHW)


@pytest.mark.parametrize("kw, runs", [
    (dict(num_outputs=2), NCHW),                                          # axis absent (1)
    (dict(num_outputs=4, axis=1, squeeze_axis=True), NCHW),
    (dict(num_outputs=2, axis=1, squeeze_axis=False), NCHW),
    (dict(num_outputs=3, axis=2), [{"data": (1, 4, 6, 5)}, {"data": (2, 4, 9, 7)}]),  # symbolic axis
    (dict(num_outputs=5, axis=-1, squeeze_axis=True), [{"data": (1, 4, 6, 5)}, {"data": (2, 4, 3, 5)}]),
    (dict(num_outputs=1, axis=1), NCHW),
])
def test_slice_channel(kw, runs):
    sym = mx.sym.SliceChannel(mx.sym.var("data"), name="sc", **kw)
    assert ("squeeze_axis" in node_attrs(sym)) == ("squeeze_axis" in kw)
    roundtrip(sym, runs[0], run_shapes=runs)


def test_split_alias_outputs_feed_a_concat():
    parts = mx.sym.split(mx.sym.var("data"), num_outputs=2, axis=1, name="sp")
    sym = mx.sym.Concat(parts[1], parts[0], dim=1, name="cat")
    proto = roundtrip(sym, NCHW[0], run_shapes=NCHW)
    assert {"sp_output0", "sp_output1"} <= {o for n in proto.graph.node for o in n.output}


@pytest.mark.parametrize("kw", [
    dict(begin=(0, 1), end=(None, 3)),                                  # step absent
    dict(begin=(0, 1), end=(None, 3), step=(1, 1)),
    dict(begin=(None, None, 1), end=(None, None, -1)),                  # negative end
    dict(begin=(None, None, -3, None), end=(None, None, None, -1)),     # negative begin
    dict(begin=(None, None, None, None), end=(None, None, None, None), step=(None, -1, -1, -2)),  # reversals
    dict(begin=(None, 3, -1), end=(None, 0, 0), step=(1, -1, -2)),      # negative steps with bounds
    dict(begin=(None, None, 1), end=(None, None, 100), step=(None, 2, 2)),  # end past the dim
    # A begin before 0 (-100) is clamped by MXNet's shape inference, but oneDNN then fails
    # ("could not construct a sub-memory"), so no such case here.
])
def test_slice(kw):
    sym = mx.sym.slice(mx.sym.var("data"), name="s", **kw)
    assert ("step" in node_attrs(sym)) == ("step" in kw)
    proto = roundtrip(sym, NCHW[0], run_shapes=NCHW)
    # onnxruntime also reverses to index 0 for an end of INT64_MAX with a negative step;
    # the ONNX spec (and its reference implementation) clamps it to dim-1: check the spec too.
    feeds = {"data": np.random.default_rng(3).normal(size=NCHW[1]["data"]).astype(np.float32)}
    args, aux = random_params(sym, NCHW[1])
    got = ReferenceEvaluator(proto).run(None, feeds)[0]
    assert_match(run_mxnet(sym, args, aux, feeds)[0], got)


@pytest.mark.parametrize("kw", [
    dict(axis=1, begin=1, end=3),
    dict(axis=2, begin=1, end=None),
    dict(axis=-1, begin=-3, end=None),
    dict(axis=2, begin=0, end=-1),
    dict(axis=-2, begin=-4, end=-1),
])
def test_slice_axis(kw):
    sym = mx.sym.slice_axis(mx.sym.var("data"), name="s", **kw)
    roundtrip(sym, NCHW[0], run_shapes=NCHW)


@pytest.mark.parametrize("kw", [
    dict(h_w=(3, 4)),                                   # offset, center_crop absent
    dict(h_w=(3, 4), offset=(0, 0), center_crop=False),
    dict(h_w=(2, 3), offset=(1, 2)),
    dict(h_w=(3, 2), center_crop=True),                 # offset follows the run-time size
    dict(h_w=(4, 3), offset=(1, 1), center_crop=True),  # center_crop wins over offset
])
def test_crop_one_input(kw):
    sym = mx.sym.Crop(mx.sym.var("data"), num_args=1, name="crop", **kw)
    assert ("offset" in node_attrs(sym)) == ("offset" in kw)
    roundtrip(sym, NCHW[0], run_shapes=NCHW)


@pytest.mark.parametrize("kw", [{}, dict(offset=(1, 0)), dict(center_crop=True), dict(center_crop=False)])
def test_crop_like(kw):
    """Crop input 0 to input 1's height and width, at two size pairs."""
    sym = mx.sym.Crop(mx.sym.var("data"), mx.sym.var("like"), num_args=2, name="crop", **kw)
    runs = [{"data": (1, 3, 8, 9), "like": (1, 2, 7, 6)}, {"data": (2, 3, 12, 7), "like": (2, 2, 9, 6)}]
    roundtrip(sym, runs[0], run_shapes=runs)


def test_pitfall_11_crop_aligns_upsampled_map():
    """RetinaFace/SSH FPN: a stride-2 map upsampled x2 is cropped to the lateral map's size.

    At odd sizes the upsampled map is one larger than the lateral one (2*ceil(h/2) vs h),
    so the crop size must follow the run-time input (PITFALL 11).
    """
    data = mx.sym.var("data")
    lateral = mx.sym.Convolution(data, kernel=(3, 3), stride=(2, 2), pad=(1, 1), num_filter=4, name="lat")
    coarse = mx.sym.Convolution(lateral, kernel=(3, 3), stride=(2, 2), pad=(1, 1), num_filter=4, name="coarse")
    up = mx.sym.UpSampling(coarse, scale=2, sample_type="nearest", num_args=1, name="up")
    crop = mx.sym.Crop(up, lateral, num_args=2, name="crop")
    sym = mx.sym.Concat(lateral, crop, dim=1, name="merge")
    runs = [{"data": (1, 3, 32, 32)}, {"data": (1, 3, 45, 37)}, {"data": (2, 3, 21, 30)}, {"data": (1, 3, 13, 7)}]
    roundtrip(sym, runs[0], run_shapes=runs)
