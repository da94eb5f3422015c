import json

import mxnet as mx
import numpy as np
import pytest

from oracle import assert_match, convert_symbol, random_params, roundtrip, run_mxnet, run_onnx

SHAPES4 = {"data": (2, 3, 5, 7)}
RUNS4 = [SHAPES4, {"data": (1, 3, 9, 4)}]
SHAPES2 = {"data": (4, 10)}
RUNS2 = [SHAPES2, {"data": (1, 10)}]


def _ops(proto):
    return [n.op_type for n in proto.graph.node]


@pytest.mark.parametrize("make", [mx.sym.softmax, mx.sym.log_softmax], ids=["softmax", "log_softmax"])
@pytest.mark.parametrize("kw", [dict(), dict(axis=-1), dict(axis=1), dict(axis=2), dict(axis=0),
                                dict(temperature=2.5), dict(axis=1, temperature=0.4), dict(temperature=1.0)])
def test_softmax(make, kw):
    sym = make(mx.sym.var("data"), name="sm", **kw)
    if "axis" not in kw:
        assert '"axis"' not in sym.tojson()
    roundtrip(sym, SHAPES4, run_shapes=RUNS4, input_range=(-4.0, 4.0))


def test_softmax_2d():
    roundtrip(mx.sym.softmax(mx.sym.var("data"), name="sm"), SHAPES2, run_shapes=RUNS2)


def test_softmax_length_refused():
    from modelport.errors import ConversionError

    sym = mx.sym.softmax(mx.sym.var("data"), mx.sym.var("length"), use_length=True, name="sm")
    with pytest.raises(ConversionError, match="use_length"):
        convert_symbol(sym, {}, {}, input_shapes={"data": (2, 5), "length": (2,)})


@pytest.mark.parametrize("shapes,runs", [(SHAPES2, RUNS2), (SHAPES4, RUNS4),
                                         ({"data": (2, 3, 5)}, [{"data": (2, 3, 5)}, {"data": (1, 3, 8)}])],
                         ids=["2d", "4d", "3d"])
@pytest.mark.parametrize("kw", [dict(), dict(mode="instance")])
def test_softmax_activation_instance(shapes, runs, kw):
    """mode='instance' (the default): MXNet's FlatTo2D keeps the last axis, so the softmax is
    over the last axis, not over all non-batch elements."""
    sym = mx.sym.SoftmaxActivation(mx.sym.var("data"), name="sa", **kw)
    if not kw:
        assert '"mode"' not in sym.tojson()
    roundtrip(sym, shapes, run_shapes=runs, input_range=(-4.0, 4.0))


@pytest.mark.parametrize("shapes,runs", [(SHAPES4, RUNS4),
                                         ({"data": (2, 3, 5)}, [{"data": (2, 3, 5)}, {"data": (1, 3, 8)}])],
                         ids=["4d", "3d"])
def test_pitfall_12_softmax_activation_channel_is_axis_1(shapes, runs):
    sym = mx.sym.SoftmaxActivation(mx.sym.var("data"), mode="channel", name="sa")
    proto = roundtrip(sym, shapes, run_shapes=runs, input_range=(-4.0, 4.0))
    (node,) = proto.graph.node
    assert node.op_type == "Softmax" and node.attribute[0].i == 1


def _softmax_output(data, **kw):
    return mx.sym.SoftmaxOutput(data, name="softmax", **kw)


@pytest.mark.parametrize("kw", [dict(), dict(multi_output=False, preserve_shape=False),
                                dict(grad_scale=2.0, ignore_label=3, use_ignore=True, normalization="valid",
                                     smooth_alpha=0.1, out_grad=True)])
def test_pitfall_12_softmax_output_is_softmax(kw):
    """The classifier head: label variable dropped, softmax over the class axis."""
    sym = _softmax_output(mx.sym.var("data"), **kw)
    if not kw:
        assert '"multi_output"' not in sym.tojson() and '"preserve_shape"' not in sym.tojson()
    proto = roundtrip(sym, {"data": (4, 10)}, run_shapes=[{"data": (4, 10)}, {"data": (1, 10)}], input_range=(-3, 3))
    assert [i.name for i in proto.graph.input] == ["data"]  # softmax_label is not an input
    assert proto.graph.output[0].name == "softmax"
    assert "Softmax" in _ops(proto)


@pytest.mark.parametrize("shapes,runs", [
    ({"data": (2, 3, 5)}, [{"data": (2, 3, 5)}, {"data": (1, 3, 8)}]),
    ({"data": (2, 3, 2, 3, 2)}, [{"data": (2, 3, 2, 3, 2)}, {"data": (1, 3, 3, 1, 5)}]),
], ids=["3d", "5d"])
def test_softmax_output_plain_flattens_instance(shapes, runs):
    """No multi_output/preserve_shape: softmax over all non-batch elements, shape kept.
    (4-D float32 inputs are not used here: MXNet's CPU build sends them to oneDNN, which
    takes a last-axis softmax instead, unlike MXNet's own kernel; see softmax.py.)"""
    sym = _softmax_output(mx.sym.var("data"))
    proto = roundtrip(sym, shapes, run_shapes=runs, input_range=(-4.0, 4.0))
    assert _ops(proto) == ["Flatten", "Softmax", "Shape", "Reshape"]


def test_softmax_output_plain_4d_follows_mxnet_kernel():
    """4-D: compare with MXNet's own kernel, reached through a 3-D view of the same data
    (same instance, same flattened elements). MXNet's oneDNN path on the 4-D tensor
    itself differs (last axis only): that MXNet-internal inconsistency is pinned too."""
    shape = (2, 3, 4, 5)
    proto = convert_symbol(_softmax_output(mx.sym.var("data")), {}, {}, input_shapes={"data": shape})
    x = np.random.default_rng(5).uniform(-4, 4, shape).astype(np.float32)
    kernel = run_mxnet(_softmax_output(mx.sym.var("data")), {}, {}, {"data": x.reshape(2, 12, 5)})[0]
    assert_match(kernel.reshape(shape), run_onnx(proto, {"data": x})[0])
    onednn = run_mxnet(_softmax_output(mx.sym.var("data")), {}, {}, {"data": x})[0]
    e = np.exp(x - x.max(-1, keepdims=True))
    assert np.allclose(onednn, e / e.sum(-1, keepdims=True), atol=1e-6)


@pytest.mark.parametrize("kw", [dict(multi_output=True), dict(multi_output=True, preserve_shape=True)])
@pytest.mark.parametrize("shapes,runs", [(SHAPES4, RUNS4), ({"data": (2, 3, 5)}, [{"data": (2, 3, 5)}])],
                         ids=["4d", "3d"])
def test_pitfall_12_softmax_output_multi_output_is_axis_1(shapes, runs, kw):
    proto = roundtrip(_softmax_output(mx.sym.var("data"), **kw), shapes, run_shapes=runs, input_range=(-4, 4))
    (node,) = proto.graph.node
    assert node.op_type == "Softmax" and node.attribute[0].i == 1


@pytest.mark.parametrize("shapes,runs", [(SHAPES4, RUNS4), ({"data": (2, 3, 5)}, [{"data": (2, 3, 5)}])],
                         ids=["4d", "3d"])
def test_softmax_output_preserve_shape_is_last_axis(shapes, runs):
    roundtrip(_softmax_output(mx.sym.var("data"), preserve_shape=True), shapes, run_shapes=runs,
              input_range=(-4.0, 4.0))


def test_softmax_legacy_name():
    """'Softmax' is SoftmaxOutput's pre-2015 name; MXNet 1.9.1 still loads it."""
    sym = _softmax_output(mx.sym.var("data"))
    doc = json.loads(sym.tojson())
    doc["nodes"][-1]["op"] = "Softmax"
    legacy = mx.sym.load_json(json.dumps(doc))

    class Legacy:
        def tojson(self):
            return json.dumps(doc)

    args, aux = random_params(sym, {"data": (3, 4)})
    proto = convert_symbol(Legacy(), args, aux, input_shapes={"data": (3, 4)})
    feeds = {"data": np.random.default_rng(1).uniform(-2, 2, (3, 4)).astype(np.float32)}
    assert_match(run_mxnet(legacy, args, aux, feeds)[0], run_onnx(proto, feeds)[0])
    assert [i.name for i in proto.graph.input] == ["data"]


@pytest.mark.parametrize("op,onnx_ops", [("LinearRegressionOutput", ["Identity"]),
                                         ("MAERegressionOutput", ["Identity"]),
                                         ("LogisticRegressionOutput", ["Sigmoid"])])
@pytest.mark.parametrize("kw", [dict(), dict(grad_scale=4.0)])
def test_regression_outputs(op, onnx_ops, kw):
    sym = getattr(mx.sym, op)(mx.sym.var("data"), name="out", **kw)
    proto = roundtrip(sym, SHAPES2, run_shapes=RUNS2, input_range=(-4.0, 4.0))
    assert _ops(proto) == onnx_ops
    assert [i.name for i in proto.graph.input] == ["data"] and proto.graph.output[0].name == "out"
