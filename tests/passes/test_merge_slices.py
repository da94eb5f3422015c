"""MergeSlicesPass: contiguous one-axis Slices of one tensor become one Split, names kept."""
import numpy as np
from onnx import helper

from modelport.passes.merge_slices import MergeSlicesPass
from passes.support import absorbed, apply, init, make_model, ops, value_names, vinfo


def _heads(ranges, axis=2, shape=(1, 7, 4)):
    """x (1, 7, 4) -> one Slice per (start, end) on ``axis`` -> Relu each."""
    inits, nodes, outputs = [], [], []
    for k, (start, end) in enumerate(ranges):
        inits += [init(f"s{k}", np.array([start], np.int64)), init(f"e{k}", np.array([end], np.int64)),
                  init(f"a{k}", np.array([axis], np.int64))]
        nodes += [helper.make_node("Slice", ["x", f"s{k}", f"e{k}", f"a{k}"], [f"box{k}"]),
                  helper.make_node("Relu", [f"box{k}"], [f"out{k}"])]
        outputs.append(vinfo(f"out{k}", None))
    return make_model(nodes, [vinfo("x", list(shape))], outputs, inits)


def test_contiguous_slices_become_one_split_keeping_their_names():
    model, modified = apply(_heads([(2, 4), (0, 2)]), MergeSlicesPass())  # out of order on purpose
    assert modified and ops(model) == ["Split", "Relu", "Relu"]
    assert {"box0", "box1"} <= value_names(model) and absorbed(model) == {}
    split = next(iter(model.graph))
    np.testing.assert_array_equal(split.inputs[1].const_value.numpy(), [2, 2])
    assert [v.name for v in split.outputs] == ["box1", "box0"]


def test_an_end_past_the_size_is_clamped():
    model, modified = apply(_heads([(0, 1), (1, 2**62)], axis=1), MergeSlicesPass())
    assert modified and ops(model)[0] == "Split"


def test_a_gap_or_an_overlap_is_left_alone():
    for ranges in ([(0, 1), (2, 4)], [(0, 3), (2, 4)], [(0, 2)]):
        model, modified = apply(_heads(ranges), MergeSlicesPass())
        assert not modified and ops(model).count("Slice") == len(ranges)
