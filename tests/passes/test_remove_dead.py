import numpy as np
import onnx_ir as ir
from onnx import helper

from modelport.passes.remove_dead import RemoveDeadPass
from passes.support import absorbed, apply, init, make_model, ops, value_names, vinfo


def test_dead_chain_and_unread_initializer_go():
    nodes = [helper.make_node("Relu", ["x"], ["out"]),
             helper.make_node("Sigmoid", ["x"], ["dead0"]),
             helper.make_node("Add", ["dead0", "bias"], ["dead1"])]
    proto = make_model(nodes, [vinfo("x", [2, 3])], [vinfo("out", None)],
                       [init("bias", np.float32(1)), init("unread", np.zeros(3, np.float32))])
    model, modified = apply(proto, RemoveDeadPass(), {"x": np.ones((2, 3), np.float32)})
    assert modified and ops(model) == ["Relu"]
    assert not model.graph.initializers
    assert not {"dead0", "dead1"} & value_names(model)
    assert absorbed(model) == {}
    assert not RemoveDeadPass()(model).modified


def test_graph_outputs_and_inputs_stay():
    nodes = [helper.make_node("Relu", ["x"], ["a"]), helper.make_node("Sigmoid", ["a"], ["b"])]
    proto = make_model(nodes, [vinfo("x", [2]), vinfo("unused_input", [2])], [vinfo("a", None), vinfo("b", None)])
    model = ir.from_proto(proto)
    assert not RemoveDeadPass()(model).modified
    assert ops(model) == ["Relu", "Sigmoid"] and [v.name for v in model.graph.inputs] == ["x", "unused_input"]


def test_unread_dropout_mask_is_trimmed():
    nodes = [helper.make_node("Dropout", ["x"], ["d", "mask"]), helper.make_node("Relu", ["d"], ["out"])]
    proto = make_model(nodes, [vinfo("x", [2, 3])], [vinfo("out", None)])
    model, modified = apply(proto, RemoveDeadPass(), {"x": np.ones((2, 3), np.float32)})
    assert modified and len(next(iter(model.graph)).outputs) == 1
