"""Reshape (MXNet codes 0/-1/-2/-3/-4, reverse, target_shape), transpose, SwapAxis, expand_dims, squeeze."""
import json

import mxnet as mx
import numpy as np
import pytest

from modelport.errors import ConversionError
from oracle import assert_match, convert_symbol, random_params, roundtrip, run_mxnet, run_onnx

NCHW = [{"data": (1, 4, 6, 5)}, {"data": (2, 4, 9, 7)}]


def node_attrs(sym) -> dict:
    return json.loads(sym.tojson())["nodes"][-1].get("attrs", {})


def op_types(proto) -> list:
    return [n.op_type for n in proto.graph.node]


@pytest.mark.parametrize("shape, runs, static", [
    ((0, 2, -1, 0), NCHW, True),                  # RetinaFace head: (N, 2, A*H, W)
    ((0, -1), NCHW, True),
    ((-1,), NCHW, True),
    ((-3, -2), NCHW, False),                      # (N*C, H, W)
    ((0, -4, 2, -1, -2), NCHW, False),            # split channels, copy the rest
    ((0, 0, -4, -1, 2, 0), [{"data": (1, 4, 6, 5)}, {"data": (2, 4, 10, 3)}], False),  # split symbolic H
    ((0, -3, 0), NCHW, False),
    ((-3, 0), [{"data": (1, 3, 5)}, {"data": (2, 3, 8)}], False),
    ((-3, -3), NCHW, False),
    ((0, 0, -1, 1), NCHW, True),
    ((2, -1, 0), [{"data": (2, 4, 6, 5)}, {"data": (4, 4, 3, 3)}], True),
])
def test_reshape(shape, runs, static):
    sym = mx.sym.Reshape(mx.sym.var("data"), shape=shape, name="r")
    proto = roundtrip(sym, runs[0], run_shapes=runs)
    assert (op_types(proto) == ["Reshape"]) == static


@pytest.mark.parametrize("shape, reverse", [
    ((-1, 0), True),          # (N*C*H, W): 0 copies the last dim (without reverse: (N*H*W, C))
    ((-1, -3), True),         # (N*C, H*W) (without reverse: (N*W, C*H))
    ((0, -1), True),          # (H, N*C*W): the walk runs from the right (without reverse: (N, C*H*W))
    ((0, -3, 0), True),       # symmetric codes: same as without reverse
    ((0, 2, -1, 0), True),    # same rank, no -2/-3/-4: same as without reverse
    ((0, -1), None),          # absent
    ((0, -1), False),
])
def test_reshape_reverse(shape, reverse):
    kw = {} if reverse is None else {"reverse": reverse}
    sym = mx.sym.Reshape(mx.sym.var("data"), shape=shape, name="r", **kw)
    assert ("reverse" in node_attrs(sym)) == (reverse is not None)
    roundtrip(sym, NCHW[0], run_shapes=NCHW)


@pytest.mark.parametrize("shape, runs", [
    # (N, 1, H, W, 1): -1 at code index 1, output index 4
    ((-2, -1), [{"data": (1, 1, 4, 5)}, {"data": (2, 1, 3, 7)}]),
    # -1 at code index 3, output index 2: (2, N/2, 1, 3*W), where (2, N/2, 3*W, 1) would be the documented result
    ((-4, 2, -1, -1, 1), [{"data": (2, 3, 5)}, {"data": (4, 3, 7)}]),
])
def test_reshape_inferred_dim_at_code_index(shape, runs):
    """MXNet 1.9.1 writes the inferred -1 at its code index, not its output index.

    After a -2 or -4 the two differ; MXNet's shape is then consistent only when the
    displaced dim is 1, and the converter reproduces it.
    """
    sym = mx.sym.Reshape(mx.sym.var("data"), shape=shape, name="r")
    roundtrip(sym, runs[0], run_shapes=runs)


def test_reshape_inconsistent_quirk_is_refused():
    """(-4, 1, 2, -1, 0) on (2, 3, 4, 6): MXNet claims (1, 2, 1, 18), 36 of 144 values."""
    sym = mx.sym.Reshape(mx.sym.var("data"), shape=(-4, 1, 2, -1, 0), name="r")
    with pytest.raises(ConversionError, match="code index"):
        convert_symbol(sym, {}, {}, input_shapes={"data": (2, 3, 4, 6)})


@pytest.mark.parametrize("kw", [
    dict(target_shape=(0, 20)),                        # 0 = inferred; keep_highest absent
    dict(target_shape=(6, 0), keep_highest=False),
    dict(target_shape=(7, 0), keep_highest=True),      # entry 0 replaced by the input's dim 0
    dict(target_shape=(0, 0, 5), keep_highest=True),
])
def test_reshape_target_shape(kw):
    sym = mx.sym.Reshape(mx.sym.var("data"), name="r", **kw)
    runs = [{"data": (2, 3, 4, 5)}] if not kw.get("keep_highest") else [{"data": (2, 3, 4, 5)}, {"data": (3, 3, 2, 5)}]
    roundtrip(sym, runs[0], run_shapes=runs)


@pytest.mark.parametrize("axes", [None, (), (0, 2, 3, 1), (3, 2, 1, 0), (1, 0, 3, 2)])
def test_transpose(axes):
    kw = {} if axes is None else {"axes": axes}
    sym = mx.sym.transpose(mx.sym.var("data"), name="t", **kw)
    assert ("axes" in node_attrs(sym)) == (axes is not None)
    roundtrip(sym, NCHW[0], run_shapes=NCHW)


@pytest.mark.parametrize("kw", [
    {},                        # both absent: dim1 = dim2 = 0, the identity
    dict(dim1=1),              # dim2 absent (0)
    dict(dim2=3),              # dim1 absent (0)
    dict(dim1=1, dim2=2),
    dict(dim1=3, dim2=0),
    dict(dim1=2, dim2=2),      # equal dims: the identity
    dict(dim1=-1, dim2=1),     # negative dims count from the end (MXNet 1.9.1)
    dict(dim1=-4, dim2=-2),
    dict(dim1=-1, dim2=3),     # the same axis, spelled two ways
])
def test_swap_axis(kw):
    sym = mx.sym.SwapAxis(mx.sym.var("data"), name="s", **kw)
    assert set(node_attrs(sym)) == set(kw)
    proto = roundtrip(sym, NCHW[0], run_shapes=NCHW)
    assert op_types(proto) == ["Transpose"]


@pytest.mark.parametrize("op", ["SwapAxis", "swapaxes"])
def test_swap_axis_names(op):
    """``swapaxes`` is MXNet's alias; MXNet writes SwapAxis, hand-written JSON may say either."""
    sym = mx.sym.swapaxes(mx.sym.var("data"), dim1=0, dim2=2, name="s")
    doc = json.loads(sym.tojson())
    assert doc["nodes"][-1]["op"] == "SwapAxis"
    doc["nodes"][-1]["op"] = op
    renamed = mx.sym.load_json(json.dumps(doc))
    proto = convert_symbol(_Json(json.dumps(doc)), {}, {}, input_shapes={"data": (2, 3, 4)})
    for shape in [(2, 3, 4), (5, 3, 1)]:
        feeds = {"data": np.random.default_rng(0).uniform(-2, 2, shape).astype(np.float32)}
        assert_match(run_mxnet(renamed, {}, {}, feeds)[0], run_onnx(proto, feeds)[0])


def test_swap_axis_out_of_range_is_refused():
    sym = mx.sym.SwapAxis(mx.sym.var("data"), dim1=1, dim2=4, name="s")
    with pytest.raises(ConversionError, match="out of range"):
        convert_symbol(sym, {}, {}, input_shapes={"data": (1, 4, 6, 5)})


@pytest.mark.parametrize("groups, runs", [
    (2, [{"data": (1, 4, 6, 5)}, {"data": (2, 4, 9, 7)}]),
    (3, [{"data": (1, 6, 5, 5)}, {"data": (3, 6, 4, 11)}]),
])
def test_channel_shuffle(groups, runs):
    """ShuffleNet's channel shuffle as MXNet writes it: (N, C, H, W) -> (N, g, C/g, H, W)
    -> SwapAxis(1, 2) -> (N, C/g, g, H, W) -> (N, C, H, W); converted once, run at two sizes."""
    x = mx.sym.Convolution(mx.sym.var("data"), kernel=(1, 1), num_filter=runs[0]["data"][1], name="conv")
    x = mx.sym.Reshape(x, shape=(0, -4, groups, -1, -2), name="split_groups")
    x = mx.sym.SwapAxis(x, dim1=1, dim2=2, name="shuffle")
    sym = mx.sym.Reshape(x, shape=(0, -3, -2), name="merge_groups")
    proto = roundtrip(sym, runs[0], run_shapes=runs)
    assert op_types(proto).count("Transpose") == 1


class _Json:
    """Stands in for a symbol whose JSON is given as text (an operator name MXNet would rewrite)."""

    def __init__(self, text: str):
        self.text = text

    def tojson(self) -> str:
        return self.text


@pytest.mark.parametrize("axis", [0, 1, 4, -1, -2, -5])
def test_expand_dims(axis):
    sym = mx.sym.expand_dims(mx.sym.var("data"), axis=axis, name="e")
    roundtrip(sym, NCHW[0], run_shapes=NCHW)


def static_roundtrip(sym, shapes: dict):
    """Convert with static input shapes (no symbolic dims), run both, compare."""
    args, aux = random_params(sym, shapes)
    proto = convert_symbol(sym, args, aux, input_shapes=shapes, dynamic=False)
    feeds = {k: np.random.default_rng(1).uniform(-2, 2, v).astype(np.float32) for k, v in shapes.items()}
    for ref, got in zip(run_mxnet(sym, args, aux, feeds), run_onnx(proto, feeds), strict=True):
        assert_match(ref, got)


@pytest.mark.parametrize("axis, runs", [
    ((2,), [{"data": (1, 3, 1, 5)}, {"data": (2, 3, 1, 4)}]),
    (-2, [{"data": (2, 3, 1, 5)}]),
    ((0, 2), [{"data": (1, 3, 1, 5)}]),
])
def test_squeeze_axis(axis, runs):
    sym = mx.sym.squeeze(mx.sym.var("data"), axis=axis, name="s")
    roundtrip(sym, runs[0], run_shapes=runs)


@pytest.mark.parametrize("axis", ["absent", None])
@pytest.mark.parametrize("shape", [(1, 3, 1, 5), (2, 3, 1, 1), (1, 1, 1, 1)])
def test_squeeze_all_static(axis, shape):
    """axis None drops every size-1 dim (the batch too); all ones gives (1,), not a scalar."""
    kw = {} if axis == "absent" else {"axis": axis}
    sym = mx.sym.squeeze(mx.sym.var("data"), name="s", **kw)
    assert ("axis" in node_attrs(sym)) == (axis != "absent")
    static_roundtrip(sym, {"data": shape})


def test_squeeze_all_dynamic_is_refused():
    sym = mx.sym.squeeze(mx.sym.var("data"), name="s")
    args, aux = random_params(sym, {"data": (1, 3, 1, 5)})
    with pytest.raises(ConversionError, match="output rank depends on the"):
        convert_symbol(sym, args, aux, input_shapes={"data": (1, 3, 1, 5)})


def test_pitfall_11_retinaface_heads():
    """RetinaFace heads: (N, 2A, H, W) -> (N, 2, A*H, W) -> back, and the bbox head flattened.

    Converted at one size, run at others, odd ones included (PITFALL 11).
    """
    data = mx.sym.var("data")
    score = mx.sym.Convolution(data, kernel=(1, 1), num_filter=4, name="cls")
    bbox = mx.sym.Convolution(data, kernel=(1, 1), num_filter=8, name="bbox")
    score = mx.sym.Reshape(score, shape=(0, 2, -1, 0), name="cls_reshape")
    score = mx.sym.Reshape(score, shape=(0, 4, -1, 0), name="cls_back")
    score = mx.sym.Reshape(mx.sym.transpose(score, axes=(0, 2, 3, 1), name="cls_t"), shape=(0, -1, 2), name="cls_flat")
    bbox = mx.sym.Reshape(mx.sym.transpose(bbox, axes=(0, 2, 3, 1), name="bbox_t"), shape=(0, -1, 4), name="bbox_flat")
    bbox = mx.sym.Reshape(bbox, shape=(-3, 0), name="bbox_merge")
    sym = mx.sym.Group([score, bbox])
    runs = [{"data": (1, 3, 20, 20)}, {"data": (1, 3, 15, 9)}, {"data": (2, 3, 7, 12)}]
    roundtrip(sym, runs[0], run_shapes=runs)
