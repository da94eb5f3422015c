"""LowerMultiBoxDetectionPass: MultiBoxDetection as standard ONNX ops, run by onnxruntime, equal
to MXNet's output tensor row for row (class ids exactly, scores and boxes within 1e-6), with
sizes static and symbolic; every attribute changes the converted output as it changes MXNet's."""
import numpy as np
import onnx
import onnx_ir as ir
import pytest

from modelport.passes.lower_multibox_detection import LowerMultiBoxDetectionPass
from oracle import convert_symbol, run_onnx
from ssd_support import ATTRIBUTE_CASES, assert_same_rows, inputs, mxnet_detection, random_case, symbol

# ORT's Exp and MXNet's expf may differ by an ulp; the rows are otherwise the same arithmetic
ATOL = 1e-6


def lowered(attrs: dict, shapes: dict, dynamic: bool):
    """The lone detection node lowered; ``dynamic``: batch and anchor count symbolic."""
    model = ir.from_proto(convert_symbol(symbol(**attrs), {}, {}, input_shapes=shapes, dynamic=False))
    if dynamic:
        cls_prob, loc_pred, anchor = model.graph.inputs
        cls_prob.shape = ir.Shape(["N", cls_prob.shape[1], "A"])
        loc_pred.shape, anchor.shape = ir.Shape(["N", "A4"]), ir.Shape([1, "A", 4])
        model.graph.outputs[0].shape = ir.Shape(["N", "A", 6])
    assert LowerMultiBoxDetectionPass()(model).modified
    proto = ir.to_proto(model)
    onnx.checker.check_model(proto, full_check=True)
    assert {n.domain for n in proto.graph.node} == {""}
    assert proto.graph.output[0].name == "detection"
    return proto


def run(proto, data):
    return run_onnx(proto, dict(zip(("cls_prob", "loc_pred", "anchor"), data)))[0]


def shapes_of(data) -> dict:
    return dict(zip(("cls_prob", "loc_pred", "anchor"), (d.shape for d in data)))


@pytest.mark.parametrize("attrs", ATTRIBUTE_CASES, ids=str)
@pytest.mark.parametrize("dynamic", [False, True])
def test_lowered_equals_mxnet(attrs, dynamic):
    rng = np.random.default_rng(11)
    runs = [inputs(rng, 1, 4, 40), inputs(rng, 1, 4, 40, ties=True)]
    if dynamic:  # one conversion, other batch sizes and anchor counts
        runs += [inputs(rng, 2, 4, 23), inputs(rng, 3, 4, 71, ties=True)]
    proto = lowered(attrs, shapes_of(runs[0]), dynamic)
    for data in runs:
        assert_same_rows(mxnet_detection(*data, **attrs), run(proto, data), ATOL, f"{attrs} at {data[0].shape}")


def test_lowered_random_attributes():
    rng = np.random.default_rng(5)
    for trial in range(40):
        data, attrs = random_case(rng, ties=trial % 3 == 0)
        proto = lowered(attrs, shapes_of(data), bool(trial % 2))
        assert_same_rows(mxnet_detection(*data, **attrs), run(proto, data), ATOL, f"{trial} {attrs}")


@pytest.mark.parametrize("attrs", [a for a in ATTRIBUTE_CASES if a and "background_id" not in a], ids=str)
def test_each_attribute_changes_the_output(attrs):
    """Nothing hard-coded: the attribute moves MXNet's output, and the converted model's with it."""
    data = inputs(np.random.default_rng(2), 1, 4, 40)
    base, changed = run(lowered({}, shapes_of(data), False), data), run(lowered(attrs, shapes_of(data), False), data)
    assert not np.array_equal(mxnet_detection(*data), mxnet_detection(*data, **attrs))
    assert not np.array_equal(base, changed)
    assert_same_rows(mxnet_detection(*data, **attrs), changed, ATOL)


def test_background_id_is_ignored_as_mxnet_ignores_it():
    data = inputs(np.random.default_rng(2), 1, 4, 40)
    assert np.array_equal(mxnet_detection(*data), mxnet_detection(*data, background_id=2))
    assert_same_rows(mxnet_detection(*data), run(lowered(dict(background_id=2), shapes_of(data), False), data), ATOL)


def test_single_class_gives_only_padding():
    data = inputs(np.random.default_rng(4), 2, 1, 9)
    got = run(lowered({}, shapes_of(data), True), data)
    assert_same_rows(mxnet_detection(*data), got, 0.0)
    assert (got == -1).all()
