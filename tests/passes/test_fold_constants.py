import subprocess
import sys

import numpy as np
import onnx_ir as ir
from onnx import TensorProto, helper

from modelport.ir.provenance import ALIAS, CONSTANT, FOLDED
from modelport.passes.fold_constants import FoldConstantsPass, has_foldable
from passes.support import absorbed, apply, init, make_model, ops, rng, value_names, vinfo

R = rng(31)
W = R.normal(0, 0.5, (4, 3, 3, 3)).astype(np.float32)


def reshape_chain(batch):
    """conv -> Shape -> Gather(0) -> Concat([n, -1]) -> Reshape: a flatten written as shape arithmetic."""
    nodes = [helper.make_node("Conv", ["x", "w"], ["conv0"], pads=[1, 1, 1, 1]),
             helper.make_node("Shape", ["conv0"], ["shape0"]),
             helper.make_node("Gather", ["shape0", "zero"], ["n0"], axis=0),
             helper.make_node("Concat", ["n0", "minus1"], ["newshape0"], axis=0),
             helper.make_node("Reshape", ["conv0", "newshape0"], ["flat0"])]
    inits = [init("w", W), init("zero", np.array([0], np.int64)), init("minus1", np.array([-1], np.int64))]
    return make_model(nodes, [vinfo("x", [batch, 3, 5, 5])], [vinfo("flat0", None)], inits)


def feeds(batch):
    return {"x": R.normal(0, 1, (batch, 3, 5, 5)).astype(np.float32)}


def test_static_shape_arithmetic_folds_to_a_constant_reshape():
    model, modified = apply(reshape_chain(2), FoldConstantsPass(), feeds(2))
    assert modified and ops(model) == ["Conv", "Reshape"]
    shape = list(model.graph)[1].inputs[1]
    assert shape.is_initializer() and shape.name == "newshape0"
    np.testing.assert_array_equal(shape.const_value.numpy(), [2, -1])
    assert not {"shape0", "n0", "zero", "minus1"} & value_names(model)
    # what the original computed and the folded model no longer does is reported as folded into constants
    assert absorbed(model) == {name: (CONSTANT, FOLDED) for name in ("shape0", "n0", "newshape0")}


def test_symbolic_dim_keeps_the_shape_arithmetic():
    model, modified = apply(reshape_chain("N"), FoldConstantsPass(), [feeds(2), feeds(3)])
    assert not modified  # onnxscript reports no change when it only learned symbolic shapes
    assert ops(model) == ["Conv", "Shape", "Gather", "Concat", "Reshape"]
    assert absorbed(model) == {}


def test_constant_node_is_lifted_and_constant_math_folded():
    scale = helper.make_tensor("scale", TensorProto.FLOAT, [3], [0.5, 2.0, -1.0])
    nodes = [helper.make_node("Constant", [], ["scale"], value=scale),
             helper.make_node("Mul", ["scale", "two"], ["scale2"]),
             helper.make_node("Mul", ["x", "scale2"], ["out"])]
    proto = make_model(nodes, [vinfo("x", [2, 3])], [vinfo("out", None)], [init("two", np.float32(2))])
    model, modified = apply(proto, FoldConstantsPass(), {"x": R.normal(0, 1, (2, 3)).astype(np.float32)})
    assert modified and ops(model) == ["Mul"]
    assert list(model.graph.initializers) == ["scale2"]
    np.testing.assert_array_equal(model.graph.initializers["scale2"].const_value.numpy(), [1.0, 4.0, -2.0])
    assert absorbed(model) == {"scale": (CONSTANT, FOLDED), "scale2": (CONSTANT, FOLDED)}


def test_small_constant_is_lifted_too():
    nodes = [helper.make_node("Constant", [], ["k"], value_float=3.0), helper.make_node("Add", ["x", "k"], ["out"])]
    model, modified = apply(make_model(nodes, [vinfo("x", [2])], [vinfo("out", None)]), FoldConstantsPass(),
                            {"x": np.ones(2, np.float32)})
    assert modified and ops(model) == ["Add"]
    assert "k" in model.graph.initializers


def test_nothing_to_fold_does_not_import_onnxscript():
    code = """
import sys
import onnx_ir as ir
from onnx import helper, TensorProto
from modelport.passes.fold_constants import FoldConstantsPass
x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [2])
y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [2])
graph = helper.make_graph([helper.make_node("Relu", ["x"], ["y"])], "g", [x], [y])
model = ir.from_proto(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]))
result = FoldConstantsPass()(model)
print(result.modified, "onnxscript" in sys.modules)
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert out == ["False", "False"]


def test_scan():
    proto = reshape_chain(2)
    assert has_foldable(ir.from_proto(proto).graph)
    plain = make_model([helper.make_node("Relu", ["x"], ["y"]), helper.make_node("Identity", ["y"], ["z"])],
                       [vinfo("x", [2])], [vinfo("z", None)])
    assert not has_foldable(ir.from_proto(plain).graph)


# -- onnxscript behaviour this pass relies on (pinned) -------------------------------------

def test_onnxscript_folds_into_an_initializer_of_the_same_name():
    from onnxscript import optimizer

    nodes = [helper.make_node("Add", ["a", "b"], ["ab"]), helper.make_node("Mul", ["x", "ab"], ["out"])]
    proto = make_model(nodes, [vinfo("x", [2])], [vinfo("out", None)],
                       [init("a", np.float32([1, 2])), init("b", np.float32([3, 4]))])
    model = ir.from_proto(proto)
    assert optimizer.fold_constants(model).modified
    assert "ab" in model.graph.initializers  # why FoldConstantsPass looks for names no node computes any more
    assert list(model.graph)[-1].inputs[1] is model.graph.initializers["ab"]


def test_onnxscript_reads_through_copies_keeping_the_earlier_name():
    from onnxscript import optimizer

    nodes = [helper.make_node("Relu", ["x"], ["r"]), helper.make_node("Identity", ["r"], ["copy"]),
             helper.make_node("Shape", ["copy"], ["s"]), helper.make_node("Reshape", ["copy", "s"], ["out"])]
    model = ir.from_proto(make_model(nodes, [vinfo("x", [2, 3])], [vinfo("out", None)]))
    relu, identity = list(model.graph)[:2]
    result = optimizer.fold_constants(model, onnx_shape_inference=True)
    # the symbolic map FoldConstantsPass follows: copy -> r
    assert result.symbolic_value_map[identity.outputs[0]] is relu.outputs[0]
    assert not identity.outputs[0].uses()  # readers of the copy read r now
    # Reshape to the same shape became a copy of r, and r was renamed to the output name
    assert model.graph.outputs[0] is relu.outputs[0] and relu.outputs[0].name == "out"


def test_copies_folded_by_onnxscript_are_recorded_as_aliases():
    nodes = [helper.make_node("Relu", ["x"], ["r"]), helper.make_node("Identity", ["r"], ["copy"]),
             helper.make_node("Shape", ["copy"], ["s"]), helper.make_node("Reshape", ["copy", "s"], ["out"])]
    proto = make_model(nodes, [vinfo("x", [2, 3])], [vinfo("out", None)])
    model, modified = apply(proto, FoldConstantsPass(), {"x": R.normal(0, 1, (2, 3)).astype(np.float32)})
    assert modified and ops(model) == ["Relu"]
    assert absorbed(model) == {"copy": ("out", ALIAS), "r": ("out", ALIAS), "s": (CONSTANT, FOLDED)}


def test_graph_output_of_an_identity_keeps_its_name():
    nodes = [helper.make_node("Relu", ["x"], ["r"]), helper.make_node("Shape", ["r"], ["s"]),
             helper.make_node("Reshape", ["r", "s"], ["flat"]), helper.make_node("Identity", ["flat"], ["out"])]
    proto = make_model(nodes, [vinfo("x", [2, 3])], [vinfo("out", None), vinfo("r", None)])
    model, modified = apply(proto, FoldConstantsPass(), {"x": R.normal(0, 1, (2, 3)).astype(np.float32)})
    assert modified
    assert [v.name for v in model.graph.outputs] == ["out", "r"]
