"""UpSampling (nearest, bilinear) and _contrib_BilinearResize2D against MXNet at several sizes."""
import json

import mxnet as mx
import pytest

from modelport.errors import ConversionError
from oracle import convert_symbol, roundtrip

RUNS = [{"data": (1, 3, 5, 6)}, {"data": (2, 3, 8, 7)}]


def node_attrs(sym) -> dict:
    return json.loads(sym.tojson())["nodes"][-1].get("attrs", {})


@pytest.mark.parametrize("kw", [dict(scale=2), dict(scale=3, num_filter=3), dict(scale=1)])
def test_upsampling_nearest(kw):
    sym = mx.sym.UpSampling(mx.sym.var("data"), sample_type="nearest", name="up", **kw)
    roundtrip(sym, RUNS[0], run_shapes=RUNS)


@pytest.mark.parametrize("mode", ["absent", "concat", "sum"])
def test_upsampling_nearest_several_inputs(mode):
    """Input i is upsampled to (s*H0, s*W0); here input b is half the size of a."""
    kw = {} if mode == "absent" else {"multi_input_mode": mode}
    sym = mx.sym.UpSampling(mx.sym.var("a"), mx.sym.var("b"), scale=2, sample_type="nearest",
                            num_args=2, name="up", **kw)
    assert ("multi_input_mode" in node_attrs(sym)) == (mode != "absent")
    runs = [{"a": (1, 3, 4, 6), "b": (1, 3, 2, 3)}, {"a": (2, 3, 6, 10), "b": (2, 3, 3, 5)}]
    roundtrip(sym, runs[0], run_shapes=runs)


@pytest.mark.parametrize("scale", [2, 3, 4])
def test_upsampling_bilinear(scale):
    """A grouped Deconvolution with the node's (C, 1, k, k) weight (random, not the Bilinear init)."""
    sym = mx.sym.UpSampling(mx.sym.var("data"), sample_type="bilinear", scale=scale, num_filter=3, name="up")
    roundtrip(sym, RUNS[0], run_shapes=RUNS)


@pytest.mark.parametrize("align", ["absent", True, False])
@pytest.mark.parametrize("kw", [
    dict(height=9, width=4),                       # mode absent (size): up in H, down in W
    dict(height=1, width=1, mode="size"),          # half_pixel would differ here; pytorch_half_pixel matches
    dict(scale_width=2.0),                         # without scale_height MXNet uses height/width (1, 1)
    dict(scale_height=2.0, scale_width=1.5),       # int(float32(H) * scale)
    dict(scale_height=0.7, scale_width=1.3),
    dict(mode="odd_scale", scale_height=1.5, scale_width=2.0),
    dict(mode="to_even_down"), dict(mode="to_even_up"), dict(mode="to_odd_down"), dict(mode="to_odd_up"),
])
def test_bilinear_resize(kw, align):
    if align != "absent":
        kw = dict(kw, align_corners=align)
    sym = mx.sym.contrib.BilinearResize2D(mx.sym.var("data"), name="rs", **kw)
    assert ("align_corners" in node_attrs(sym)) == (align != "absent")
    roundtrip(sym, RUNS[0], run_shapes=RUNS)


@pytest.mark.parametrize("align", [True, False])
def test_bilinear_resize_like(align):
    sym = mx.sym.contrib.BilinearResize2D(mx.sym.var("data"), mx.sym.var("like"), mode="like",
                                          align_corners=align, name="rs")
    runs = [{"data": (1, 3, 5, 6), "like": (1, 2, 11, 9)}, {"data": (2, 3, 8, 7), "like": (2, 2, 4, 13)}]
    roundtrip(sym, runs[0], run_shapes=runs)


def test_bilinear_resize_scale_height_alone_is_refused():
    """MXNet fails too ('bad optional access'); the converter says what is missing."""
    sym = mx.sym.contrib.BilinearResize2D(mx.sym.var("data"), scale_height=2.0, name="rs")
    with pytest.raises(ConversionError, match="scale_height and scale_width"):
        convert_symbol(sym, {}, {}, input_shapes=RUNS[0])
