import numpy as np
import onnx_ir as ir
import pytest
from onnx import TensorProto, helper

from modelport.ir.provenance import ALIAS
from modelport.passes.eliminate_identity import EliminateIdentityPass
from passes.support import absorbed, apply, init, make_model, ops, rng, value_names, vinfo

W = rng(21).normal(0, 0.5, (4, 3, 3, 3)).astype(np.float32)
X = vinfo("x", [1, 3, 5, 5])


def conv(out: str = "conv0"):
    return helper.make_node("Conv", ["x", "w"], [out], pads=[1, 1, 1, 1])


def test_identity_chain_keeps_the_last_name():
    nodes = [conv(), helper.make_node("Identity", ["conv0"], ["i1"]), helper.make_node("Identity", ["i1"], ["i2"]),
             helper.make_node("Relu", ["i2"], ["out"])]
    model, modified = apply(make_model(nodes, [X], [vinfo("out", None)], [init("w", W)]), EliminateIdentityPass())
    assert modified and ops(model) == ["Conv", "Relu"]
    assert next(iter(model.graph)).outputs[0].name == "i2"
    assert absorbed(model) == {"conv0": ("i2", ALIAS), "i1": ("i2", ALIAS)}
    assert not {"conv0", "i1"} & value_names(model)


def test_mxnet_dropout_name_survives():
    """MXNet reports ``drop1`` (the Dropout's name), not the conv before it."""
    nodes = [conv(), helper.make_node("Dropout", ["conv0"], ["drop1"], name="drop1"),
             helper.make_node("Relu", ["drop1"], ["relu1"])]
    model, modified = apply(make_model(nodes, [X], [vinfo("relu1", None)], [init("w", W)]), EliminateIdentityPass())
    assert modified and ops(model) == ["Conv", "Relu"]
    assert list(model.graph)[1].inputs[0].name == "drop1"
    assert absorbed(model) == {"conv0": ("drop1", ALIAS)}


def test_identity_to_a_graph_output():
    nodes = [conv(), helper.make_node("Identity", ["conv0"], ["out"])]
    model, modified = apply(make_model(nodes, [X], [vinfo("out", None)], [init("w", W)]), EliminateIdentityPass())
    assert modified and ops(model) == ["Conv"]
    assert model.graph.outputs[0].producer().op_type == "Conv"
    assert absorbed(model) == {"conv0": ("out", ALIAS)}


def test_identity_from_a_graph_input_is_absorbed_into_it():
    nodes = [helper.make_node("Identity", ["x"], ["a"]), helper.make_node("Relu", ["a"], ["out"])]
    model, modified = apply(make_model(nodes, [vinfo("x", ["N", 3])], [vinfo("out", None)]), EliminateIdentityPass(),
                            {"x": rng(1).normal(0, 1, (2, 3)).astype(np.float32)})
    assert modified and ops(model) == ["Relu"]
    assert list(model.graph)[0].inputs[0].name == "x"
    assert absorbed(model) == {"a": ("x", ALIAS)}
    assert model.graph.inputs[0].shape.dims[0] == ir.SymbolicDim("N")  # the signature is untouched


def test_identity_from_a_graph_output_is_absorbed_into_it():
    nodes = [conv(), helper.make_node("Identity", ["conv0"], ["a"]), helper.make_node("Relu", ["a"], ["out"])]
    model, modified = apply(make_model(nodes, [X], [vinfo("conv0", None), vinfo("out", None)], [init("w", W)]),
                            EliminateIdentityPass())
    assert modified and ops(model) == ["Conv", "Relu"]
    assert [v.name for v in model.graph.outputs] == ["conv0", "out"]
    assert absorbed(model) == {"a": ("conv0", ALIAS)}


def test_input_straight_to_output_stays():
    proto = make_model([helper.make_node("Identity", ["x"], ["out"])], [vinfo("x", [2, 3])], [vinfo("out", None)])
    model, modified = apply(proto, EliminateIdentityPass())
    assert not modified and ops(model) == ["Identity"]
    assert absorbed(model) == {}


def test_identity_of_an_initializer_reads_it():
    nodes = [helper.make_node("Identity", ["w"], ["w_copy"]), helper.make_node("Conv", ["x", "w_copy"], ["out"])]
    model, modified = apply(make_model(nodes, [X], [vinfo("out", None)], [init("w", W)]), EliminateIdentityPass())
    assert modified and ops(model) == ["Conv"]
    assert list(model.graph)[0].inputs[1].name == "w"
    assert absorbed(model) == {"w_copy": ("w", ALIAS)}


@pytest.mark.parametrize("training_mode", [None, False])
def test_dropout_with_unread_mask(training_mode):
    inputs = ["conv0"] if training_mode is None else ["conv0", "ratio", "mode"]
    nodes = [conv(), helper.make_node("Dropout", inputs, ["drop0", "mask0"]), helper.make_node("Relu", ["drop0"], ["out"])]
    inits = [init("w", W), init("ratio", np.float32(0.5)), init("mode", np.bool_(False))]
    model, modified = apply(make_model(nodes, [X], [vinfo("out", None)], inits), EliminateIdentityPass())
    assert modified and ops(model) == ["Conv", "Relu"]
    assert absorbed(model) == {"conv0": ("drop0", ALIAS)}


def test_dropout_with_read_mask_stays():
    nodes = [conv(), helper.make_node("Dropout", ["conv0"], ["drop0", "mask0"]),
             helper.make_node("Cast", ["mask0"], ["maskf"], to=TensorProto.FLOAT),
             helper.make_node("Mul", ["drop0", "maskf"], ["out"])]
    model, modified = apply(make_model(nodes, [X], [vinfo("out", None)], [init("w", W)]), EliminateIdentityPass())
    assert not modified and "Dropout" in ops(model)


def test_training_dropout_stays():
    nodes = [conv(), helper.make_node("Dropout", ["conv0", "ratio", "mode"], ["drop0"]),
             helper.make_node("Relu", ["drop0"], ["out"])]
    proto = make_model(nodes, [X], [vinfo("out", None)],
                       [init("w", W), init("ratio", np.float32(0.5)), init("mode", np.bool_(True))])
    model = ir.from_proto(proto)
    assert not EliminateIdentityPass()(model).modified
    assert "Dropout" in ops(model)


def test_cast_to_the_same_dtype_goes_and_other_casts_stay():
    nodes = [helper.make_node("Cast", ["x"], ["same"], to=TensorProto.FLOAT),
             helper.make_node("Cast", ["same"], ["half"], to=TensorProto.FLOAT16),
             helper.make_node("Cast", ["half"], ["out"], to=TensorProto.FLOAT)]
    model, modified = apply(make_model(nodes, [vinfo("x", [2, 3])], [vinfo("out", None)]), EliminateIdentityPass())
    assert modified and ops(model) == ["Cast", "Cast"]
    assert absorbed(model) == {"same": ("x", ALIAS)}


def test_graph_output_names_do_not_change_in_a_chain_to_two_outputs():
    nodes = [conv(), helper.make_node("Identity", ["conv0"], ["a"]), helper.make_node("Identity", ["a"], ["b"])]
    model, modified = apply(make_model(nodes, [X], [vinfo("a", None), vinfo("b", None)], [init("w", W)]),
                            EliminateIdentityPass())
    # conv0 -> a (a is an output, conv0 is not); a -> b would give one tensor two output names: stays
    assert modified and ops(model) == ["Conv", "Identity"]
    assert absorbed(model) == {"conv0": ("a", ALIAS)}


def test_a_reshape_to_the_shape_it_has_goes():
    nodes = [helper.make_node("Relu", ["x"], ["r"]), helper.make_node("Reshape", ["r", "shape"], ["same"]),
             helper.make_node("Sigmoid", ["same"], ["out"])]
    proto = make_model(nodes, [vinfo("x", [4, 2])], [vinfo("out", None)], [init("shape", np.array([4, 2], np.int64))])
    proto.graph.value_info.extend([vinfo("r", [4, 2]), vinfo("same", [4, 2])])
    model, modified = apply(proto, EliminateIdentityPass())
    assert modified and ops(model) == ["Relu", "Sigmoid"]
    assert absorbed(model) == {"r": ("same", ALIAS)}


def test_a_real_reshape_stays():
    nodes = [helper.make_node("Reshape", ["x", "shape"], ["flat"])]
    proto = make_model(nodes, [vinfo("x", [4, 2])], [vinfo("flat", None)], [init("shape", np.array([8], np.int64))])
    model, modified = apply(proto, EliminateIdentityPass())
    assert not modified and ops(model) == ["Reshape"]
