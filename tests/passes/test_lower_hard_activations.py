import numpy as np
import pytest
from onnx import helper

from modelport.passes.lower_hard_activations import LowerHardActivationsPass
from passes.support import apply, make_model, ops, vinfo


def _feeds():
    return [{"x": np.random.default_rng(2).normal(0, 4, (2, 3, 6, 6)).astype(np.float32)}]


@pytest.mark.parametrize("op,attrs,expected", [
    ("HardSigmoid", {}, ["Mul", "Add", "Clip"]), ("HardSigmoid", {"alpha": 0.3, "beta": 0.4}, ["Mul", "Add", "Clip"]),
    ("HardSwish", {}, ["Mul", "Add", "Clip", "Mul"])])
def test_lowered_exactly(op, attrs, expected):
    proto = make_model([helper.make_node(op, ["x"], ["y"], **attrs)], [vinfo("x", [2, 3, 6, 6])], [vinfo("y", None)])
    model, modified = apply(proto, LowerHardActivationsPass(), _feeds())
    assert modified and ops(model) == expected and model.graph.outputs[0].name == "y"
