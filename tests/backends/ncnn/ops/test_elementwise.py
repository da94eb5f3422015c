"""BinaryOp against onnxruntime: every op, constant operands of every broadcast shape
(scalar -> with_scalar; tensors -> MemoryData of the same rank), constant first operands
(rsub/rdiv/rpow), two computed operands, and chains of Sum/Max/Min."""
import pytest

from onnx_ncnn import check, const, helper, np, one_op, types

OPS = ["Add", "Sub", "Mul", "Div", "Max", "Min"]


@pytest.mark.parametrize("op", OPS)
@pytest.mark.parametrize("kshape", [(), (1,), (3, 1, 1), (1, 3, 1, 1), (5,), (4, 1), (1, 1, 4, 5), (1, 3, 4, 5)])
@pytest.mark.parametrize("first", [False, True])
def test_binary_with_constant(tmp_path, op, kshape, first):
    k = np.random.default_rng(1).uniform(0.5, 1.5, kshape).astype(np.float32)
    inputs = ["k", "r"] if first else ["r", "k"]
    proto = one_op(op, inputs, (1, 3, 4, 5), inits=[const("k", k)],
                   extra_nodes=[helper.make_node("Sigmoid", ["x"], ["r"])])
    text, _ = check(proto, tmp_path, (1, 3, 4, 5))
    assert ("MemoryData" in types(text)) == (k.size > 1)


@pytest.mark.parametrize("op", OPS)
@pytest.mark.parametrize("shape", [(1, 6), (1, 3, 4), (1, 2, 3, 4), (1, 2, 2, 3, 4)])
def test_binary_of_two_computed_operands(tmp_path, op, shape):
    proto = one_op(op, ["r", "t"], shape, extra_nodes=[helper.make_node("Relu", ["x"], ["r"]),
                                                       helper.make_node("Tanh", ["x"], ["t"])])
    check(proto, tmp_path, shape)


def test_binary_broadcast_of_computed_operands_same_rank(tmp_path):
    proto = one_op("Div", ["x", "n"], (1, 3, 4, 5), extra_nodes=[
        helper.make_node("ReduceMax", ["x"], ["n"], axes=[2, 3], keepdims=1)])
    check(proto, tmp_path, (1, 3, 4, 5), input_range=(0.5, 1.5))


@pytest.mark.parametrize("op", ["Sum", "Max", "Min"])
def test_variadic_chains(tmp_path, op):
    proto = one_op(op, ["x", "r", "t"], (1, 3, 4), extra_nodes=[helper.make_node("Relu", ["x"], ["r"]),
                                                                 helper.make_node("Tanh", ["x"], ["t"])])
    text, _ = check(proto, tmp_path, (1, 3, 4))
    assert types(text).count("BinaryOp") == 2


def test_constant_varying_over_batch_is_refused(tmp_path):
    proto = one_op("Add", ["x", "k"], (1, 3), inits=[const("k", np.ones((2, 3), np.float32))], out_shape=(2, 3))
    with pytest.raises(Exception, match="batch"):
        check(proto, tmp_path, (1, 3))


@pytest.mark.parametrize("exponent,layers", [(2.0, ["UnaryOp"]), (3.0, ["UnaryOp", "BinaryOp"]), (0.5, ["UnaryOp"]),
                                             (-1.0, ["UnaryOp"]), (1.0, ["Noop"])])
def test_pow_of_a_computed_base_with_negative_and_zero_values(tmp_path, exponent, layers):
    """ncnn's pow is exp(b*log(a)): (-2)**3 would be 2.4e38. Exact lowerings instead."""
    proto = one_op("Pow", ["r", "e"], (1, 2, 3, 4), inits=[const("e", np.array(exponent, np.float32))],
                   extra_nodes=[helper.make_node("Relu" if exponent == 0.5 else "Tanh", ["x"], ["r"])])
    lo = 0.1 if exponent == -1.0 else -2.0  # includes 0 (Relu) and negative bases
    text, _ = check(proto, tmp_path, (1, 2, 3, 4), input_range=(lo, 2.0))
    assert types(text)[-len(layers):] == layers and "BinaryOp" not in types(text)[:-1]


@pytest.mark.parametrize("exponent", [1.5, 4.0])
def test_pow_without_exact_lowering_is_refused(tmp_path, exponent):
    proto = one_op("Pow", ["x", "e"], (1, 2, 3), inits=[const("e", np.array(exponent, np.float32))])
    with pytest.raises(Exception, match="exp\\(b\\*log\\(a\\)\\)"):
        check(proto, tmp_path, (1, 2, 3))


def test_constant_positive_base_is_rpow(tmp_path):
    proto = one_op("Pow", ["k", "x"], (1, 2, 3), inits=[const("k", np.array([[1.5, 2.0, 0.5]], np.float32))])
    text, _ = check(proto, tmp_path, (1, 2, 3))
    assert "BinaryOp" in types(text)
