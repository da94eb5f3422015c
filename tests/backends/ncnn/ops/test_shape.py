"""Layout ops against onnxruntime: Transpose (every permutation of 2-D to 4-D blobs),
Slice, Split, Concat, Softmax axes, Reshape/Flatten/Squeeze/Unsqueeze, Pad."""
import itertools

import pytest

from onnx_ncnn import check, const, helper, np, one_op, types


@pytest.mark.parametrize("perm", [p for r in (3, 4, 5) for p in itertools.permutations(range(1, r))],
                         ids=lambda p: "".join(map(str, p)))
def test_transpose_every_permutation(tmp_path, perm):
    rank = len(perm) + 1
    shape = (1, 2, 3, 4, 5)[:rank]
    text, _ = check(one_op("Transpose", ["x"], shape, {"perm": [0, *perm]}), tmp_path, shape)
    assert types(text)[-1] in ("Permute", "Noop")


def test_transpose_of_batch_axis_is_refused(tmp_path):
    with pytest.raises(Exception, match="batch axis"):
        check(one_op("Transpose", ["x"], (1, 3, 4), {"perm": [1, 0, 2]}), tmp_path, (1, 3, 4))


@pytest.mark.parametrize("starts,ends,axes,steps", [
    ([1], [3], [1], None), ([0, 1], [2, -1], [2, 3], None), ([-3], [100], [-1], [1]), ([0], [1], [0], None),
])
def test_slice(tmp_path, starts, ends, axes, steps):
    inits = [const("s", np.array(starts, np.int64)), const("e", np.array(ends, np.int64)),
             const("a", np.array(axes, np.int64))]
    names = ["x", "s", "e", "a"]
    if steps:
        inits.append(const("st", np.array(steps, np.int64)))
        names.append("st")
    text, _ = check(one_op("Slice", names, (1, 4, 5, 6), inits=inits), tmp_path, (1, 4, 5, 6))
    assert types(text)[-1] == ("Noop" if axes == [0] else "Crop")


def test_slice_with_steps_is_refused_naming_the_node(tmp_path):
    inits = [const(n, np.array(v, np.int64)) for n, v in (("s", [0]), ("e", [4]), ("a", [1]), ("st", [2]))]
    with pytest.raises(Exception, match=r"steps.*op"):
        check(one_op("Slice", ["x", "s", "e", "a", "st"], (1, 4, 5, 6), inits=inits), tmp_path, (1, 4, 5, 6))


@pytest.mark.parametrize("axis,split", [(1, [1, 3]), (-1, [2, 2, 2]), (2, [5])])
def test_split(tmp_path, axis, split):
    outs = [f"y{i}" for i in range(len(split))]
    proto = one_op("Split", ["x", "sp"], (1, 4, 5, 6), {"axis": axis}, [const("sp", np.array(split, np.int64))],
                   outputs=outs)
    text, _ = check(proto, tmp_path, (1, 4, 5, 6))
    assert "Slice" in types(text)


@pytest.mark.parametrize("shape,axis", [((1, 6), 1), ((1, 3, 4), 1), ((1, 3, 4), 2), ((1, 2, 3, 4), -1),
                                        ((1, 2, 3, 4), 1), ((1, 2, 3, 4), 2), ((1, 2, 3, 4, 5), 3)])
def test_softmax_axis(tmp_path, shape, axis):
    check(one_op("Softmax", ["x"], shape, {"axis": axis}), tmp_path, shape)


def test_log_softmax(tmp_path):
    check(one_op("LogSoftmax", ["x"], (1, 5, 3), {"axis": 1}), tmp_path, (1, 5, 3))


@pytest.mark.parametrize("shape,axis", [((1, 3), 1), ((1, 3, 4), 2), ((1, 2, 3, 4), 1), ((1, 2, 3, 4), 3),
                                        ((1, 2, 3, 4, 2), 2)])
def test_concat_with_a_computed_and_a_constant_operand(tmp_path, shape, axis):
    k = list(shape)
    k[axis] = 2
    proto = one_op("Concat", ["r", "k"], shape, {"axis": axis},
                   [const("k", np.random.default_rng(0).normal(size=k).astype(np.float32))],
                   extra_nodes=[helper.make_node("Relu", ["x"], ["r"])])
    check(proto, tmp_path, shape)


@pytest.mark.parametrize("shape,target", [((1, 2, 3, 4), (1, 6, 4)), ((1, 2, 3, 4), (1, 24)), ((1, 24), (1, 2, 3, 4)),
                                          ((1, 2, 3, 4), (6, 4)), ((1, 2, 3, 4), (1, 2, 3, 2, 2))])
def test_reshape(tmp_path, shape, target):
    proto = one_op("Reshape", ["x", "t"], shape, inits=[const("t", np.array(target, np.int64))])
    check(proto, tmp_path, shape)


@pytest.mark.parametrize("op,axes,shape", [("Squeeze", [2], (1, 3, 1, 4)), ("Unsqueeze", [3], (1, 3, 4)),
                                           ("Unsqueeze", [1], (1, 5))])
def test_squeeze_unsqueeze(tmp_path, op, axes, shape):
    check(one_op(op, ["x", "ax"], shape, inits=[const("ax", np.array(axes, np.int64))]), tmp_path, shape)


@pytest.mark.parametrize("shape,axis", [((1, 2, 3, 4), 1), ((1, 2, 3, 4), 2), ((1, 5), 1)])
def test_flatten(tmp_path, shape, axis):
    check(one_op("Flatten", ["x"], shape, {"axis": axis}), tmp_path, shape)


@pytest.mark.parametrize("mode,pads,shape", [
    ("constant", [0, 1, 2, 0, 0, 0, 1, 3], (1, 2, 3, 4)),
    ("reflect", [0, 0, 1, 2, 0, 0, 2, 1], (1, 2, 4, 5)),
    ("edge", [0, 0, 1, 2, 0, 0, 2, 1], (1, 2, 4, 5)),
    ("constant", [0, 1, 2, 0, 3, 1], (1, 3, 4)),
    ("constant", [0, 2, 0, 1], (1, 3)),
])
def test_pad(tmp_path, mode, pads, shape):
    inits = [const("p", np.array(pads, np.int64)), const("v", np.array(0.5, np.float32))]
    check(one_op("Pad", ["x", "p", "v"], shape, {"mode": mode}, inits), tmp_path, shape)
