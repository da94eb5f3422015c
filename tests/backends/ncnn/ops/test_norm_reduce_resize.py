"""BatchNormalization (not folded), InstanceNormalization, LRN, reductions and Resize against
onnxruntime."""
import pytest

from onnx_ncnn import check, const, np, one_op, types

R = np.random.default_rng(5)


@pytest.mark.parametrize("shape", [(1, 3, 4, 5), (1, 3, 7), (1, 3)])
def test_batchnorm_standalone(tmp_path, shape):
    inits = [const("g", R.normal(1, 0.3, 3).astype(np.float32)), const("b", R.normal(size=3).astype(np.float32)),
             const("m", R.normal(size=3).astype(np.float32)), const("v", R.uniform(0.5, 2, 3).astype(np.float32))]
    text, _ = check(one_op("BatchNormalization", ["x", "g", "b", "m", "v"], shape, {"epsilon": 2e-5}, inits),
                    tmp_path, shape)
    assert types(text) == ["Input", "BatchNorm"]


def test_instance_norm(tmp_path):
    inits = [const("g", R.normal(1, 0.3, 3).astype(np.float32)), const("b", R.normal(size=3).astype(np.float32))]
    text, _ = check(one_op("InstanceNormalization", ["x", "g", "b"], (1, 3, 4, 5), {"epsilon": 1e-3}, inits),
                    tmp_path, (1, 3, 4, 5))
    assert types(text) == ["Input", "InstanceNorm"]


def test_lrn(tmp_path):
    text, _ = check(one_op("LRN", ["x"], (1, 6, 4, 5), {"size": 3, "alpha": 0.01, "beta": 0.75, "bias": 2.0}),
                    tmp_path, (1, 6, 4, 5))
    assert types(text) == ["Input", "LRN"]


@pytest.mark.parametrize("op", ["ReduceSum", "ReduceMean", "ReduceMax", "ReduceMin", "ReduceL2", "ReduceSumSquare"])
@pytest.mark.parametrize("axes,keep", [([1], 1), ([2, 3], 1), ([-1], 0), ([1, 2, 3], 0)])
def test_reduce(tmp_path, op, axes, keep):
    shape = (1, 3, 4, 5)
    if op == "ReduceSum":
        proto = one_op(op, ["x", "a"], shape, {"keepdims": keep}, [const("a", np.array(axes, np.int64))])
    else:
        proto = one_op(op, ["x"], shape, {"keepdims": keep, "axes": axes})
    text, _ = check(proto, tmp_path, shape, input_range=(0.1, 1.0))
    assert types(text) == ["Input", "Reduction"]


def test_reduce_over_batch_is_refused(tmp_path):
    with pytest.raises(Exception, match="batch axis"):
        check(one_op("ReduceMax", ["x"], (1, 3, 4), {"keepdims": 1, "axes": [0, 1]}), tmp_path, (1, 3, 4))


@pytest.mark.parametrize("attrs,size", [
    ({"mode": "nearest", "coordinate_transformation_mode": "asymmetric", "nearest_mode": "floor"}, (10, 12)),
    ({"mode": "nearest"}, (10, 18)),  # half_pixel + round_prefer_floor at integer factors
    ({"mode": "linear", "coordinate_transformation_mode": "align_corners"}, (9, 7)),
    ({"mode": "linear", "coordinate_transformation_mode": "half_pixel"}, (10, 12)),
    ({"mode": "linear", "coordinate_transformation_mode": "pytorch_half_pixel"}, (7, 9)),
])
def test_resize(tmp_path, attrs, size):
    sizes = const("sz", np.array([1, 3, *size], np.int64))
    text, _ = check(one_op("Resize", ["x", "", "", "sz"], (1, 3, 5, 6), attrs, [sizes]), tmp_path, (1, 3, 5, 6))
    assert types(text) == ["Input", "Interp"]


def test_resize_cubic_is_refused(tmp_path):
    sizes = const("sz", np.array([1, 3, 10, 12], np.int64))
    with pytest.raises(Exception, match="cubic"):
        check(one_op("Resize", ["x", "", "", "sz"], (1, 3, 5, 6), {"mode": "cubic"}, [sizes]), tmp_path, (1, 3, 5, 6))
