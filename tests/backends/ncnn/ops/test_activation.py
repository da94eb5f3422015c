"""Activations and unary ops against onnxruntime, one layer each."""
import pytest

from onnx_ncnn import check, const, np, one_op, types

SHAPE = (1, 3, 4, 5)


@pytest.mark.parametrize("op,attrs,layer", [
    ("Relu", {}, "ReLU"), ("LeakyRelu", {"alpha": 0.2}, "ReLU"), ("LeakyRelu", {}, "ReLU"),
    ("Sigmoid", {}, "Sigmoid"), ("Tanh", {}, "TanH"), ("Elu", {"alpha": 0.7}, "ELU"), ("Softplus", {}, "Softplus"),
    ("HardSigmoid", {"alpha": 0.3, "beta": 0.4}, "HardSigmoid"), ("HardSigmoid", {}, "HardSigmoid"),
    ("HardSwish", {}, "HardSwish"), ("Selu", {}, "SELU"),
])
def test_activation(tmp_path, op, attrs, layer):
    text, _ = check(one_op(op, ["x"], SHAPE, attrs), tmp_path, SHAPE, input_range=(-4.0, 4.0))
    assert types(text) == ["Input", layer]


@pytest.mark.parametrize("op,lo", [("Abs", -2), ("Neg", -2), ("Floor", -2), ("Ceil", -2), ("Sqrt", 0.1), ("Exp", -2),
                                   ("Log", 0.1), ("Reciprocal", 0.5), ("Sin", -2), ("Cos", -2), ("Sign", -2)])
def test_unary(tmp_path, op, lo):
    text, _ = check(one_op(op, ["x"], SHAPE), tmp_path, SHAPE, input_range=(lo, 2.0))
    assert types(text) == ["Input", "UnaryOp"]


@pytest.mark.parametrize("bounds", [(0.0, 6.0), (-1.0, None), (None, 0.5)])
def test_clip(tmp_path, bounds):
    inputs, inits = ["x"], []
    for name, b in zip(("lo", "hi"), bounds):
        inputs.append(name if b is not None else "")
        if b is not None:
            inits.append(const(name, np.array(b, np.float32)))
    text, _ = check(one_op("Clip", inputs, SHAPE, inits=inits), tmp_path, SHAPE, input_range=(-8.0, 8.0))
    assert types(text) == ["Input", "Clip"]


@pytest.mark.parametrize("slope_shape", [(1,), (3, 1, 1), (1, 3, 1, 1)])
def test_prelu(tmp_path, slope_shape):
    slope = np.random.default_rng(2).uniform(-0.5, 0.5, slope_shape).astype(np.float32)
    text, _ = check(one_op("PRelu", ["x", "s"], SHAPE, inits=[const("s", slope)]), tmp_path, SHAPE)
    assert types(text) == ["Input", "PReLU"]


def test_prelu_over_width_is_refused(tmp_path):
    slope = np.ones((5,), np.float32)
    with pytest.raises(Exception, match="PReLU"):
        check(one_op("PRelu", ["x", "s"], SHAPE, inits=[const("s", slope)]), tmp_path, SHAPE)
