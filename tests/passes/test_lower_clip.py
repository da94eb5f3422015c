import numpy as np
import pytest
from onnx import helper

from modelport.passes.lower_clip import LowerClipPass
from passes.support import apply, init, make_model, ops, vinfo


def clip(lo, hi, attrs: bool = False):
    names, inits = ["x", "", ""], []
    for k, (name, value) in enumerate((("lo", lo), ("hi", hi)), start=1):
        if value is not None:
            inits.append(init(name, np.array(value, np.float32)))
            names[k] = name
    nodes = [helper.make_node("Clip", [n for n in names if n] if not names[1] and not names[2] else names, ["y"]),
             helper.make_node("Tanh", ["y"], ["z"])]
    return make_model(nodes, [vinfo("x", [2, 3, 8, 8])], [vinfo("z", None), vinfo("y", None)], inits)


def _feeds():
    r = np.random.default_rng(1)
    x = r.normal(0, 8, (2, 3, 8, 8)).astype(np.float32)
    x.flat[:6] = [0.0, 6.0, -1e6, 1e6, 5.999999, 1e-7]  # bounds, huge values, tiny values
    return [{"x": x}]


@pytest.mark.parametrize("lo,hi,expected", [
    (0.0, 6.0, ["Relu", "Sub", "Relu", "Sub"]),
    (-1.0, 1.0, ["Sub", "Relu", "Sub", "Relu", "Sub"]),
    (0.5, None, ["Sub", "Relu", "Add"]), (0.0, None, ["Relu"]), (None, 0.25, ["Sub", "Relu", "Sub"])])
def test_clip_lowered_exactly(lo, hi, expected):
    model, modified = apply(clip(lo, hi), LowerClipPass(), _feeds())
    assert modified and ops(model) == expected + ["Tanh"]
    assert model.graph.outputs[1].name == "y" and model.graph.outputs[1].producer().op_type == expected[-1]


def test_relu6_values_are_bounded_exactly():
    """Above 6 gives exactly 6, below 0 exactly 0; in between within ulp(6)."""
    from passes.support import run
    import onnx_ir as ir
    proto = clip(0.0, 6.0)
    model = ir.from_proto(proto)
    LowerClipPass()(model)
    x = _feeds()[0]["x"]
    y = run(ir.to_proto(model), {"x": x})["y"]
    assert np.all(y[x >= 6] == 6.0) and np.all(y[x <= 0] == 0.0)
    assert np.abs(y - np.clip(x, 0, 6)).max() <= np.spacing(np.float32(6))


def test_non_constant_bound_is_left_alone():
    nodes = [helper.make_node("Clip", ["x", "lo"], ["y"])]
    proto = make_model(nodes, [vinfo("x", [1, 3]), vinfo("lo", [])], [vinfo("y", None)])
    feeds = [{"x": np.ones((1, 3), np.float32), "lo": np.array(0.5, np.float32)}]
    model, modified = apply(proto, LowerClipPass(), feeds)
    assert not modified and ops(model) == ["Clip"]
