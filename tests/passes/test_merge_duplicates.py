"""MergeDuplicatesPass: identical nodes on the same inputs merge; the lost names are aliases."""
import numpy as np
from onnx import helper

from modelport.ir.provenance import ALIAS
from modelport.passes.merge_duplicates import MergeDuplicatesPass
from passes.support import absorbed, apply, init, make_model, ops, vinfo


def _slices(second_ends):
    """x -> Slice[0:2] twice (separate but equal constants), each read by its own Relu."""
    inits = [init("s0", np.array([0], np.int64)), init("e0", np.array([2], np.int64)), init("a0", np.array([1], np.int64)),
             init("s1", np.array([0], np.int64)), init("e1", np.array(second_ends, np.int64)),
             init("a1", np.array([1], np.int64))]
    nodes = [helper.make_node("Slice", ["x", "s0", "e0", "a0"], ["c0"]), helper.make_node("Slice", ["x", "s1", "e1", "a1"], ["c1"]),
             helper.make_node("Relu", ["c0"], ["r0"]), helper.make_node("Sigmoid", ["c1"], ["r1"])]
    return make_model(nodes, [vinfo("x", [1, 4, 5])], [vinfo("r0", None), vinfo("r1", None)], inits)


def test_equal_slices_merge_and_the_lost_name_is_an_alias():
    model, modified = apply(_slices([2]), MergeDuplicatesPass())
    assert modified and ops(model) == ["Slice", "Relu", "Sigmoid"]
    assert absorbed(model) == {"c1": ("c0", ALIAS)}


def test_different_constants_do_not_merge():
    model, modified = apply(_slices([3]), MergeDuplicatesPass())
    assert not modified and ops(model).count("Slice") == 2 and absorbed(model) == {}


def test_a_graph_output_is_kept():
    nodes = [helper.make_node("Relu", ["x"], ["a"]), helper.make_node("Relu", ["x"], ["b"])]
    model, modified = apply(make_model(nodes, [vinfo("x", [2, 3])], [vinfo("a", None), vinfo("b", None)]),
                            MergeDuplicatesPass())
    assert not modified and ops(model) == ["Relu", "Relu"]
