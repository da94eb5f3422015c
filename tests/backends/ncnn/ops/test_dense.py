"""Gemm / MatMul -> InnerProduct against onnxruntime."""
import pytest

from onnx_ncnn import check, const, np, one_op, types

R = np.random.default_rng(4)


@pytest.mark.parametrize("attrs,bshape,cshape", [
    ({}, (6, 4), (4,)), ({"transB": 1}, (4, 6), (1, 4)), ({"alpha": 0.5, "beta": 2.0, "transB": 1}, (4, 6), (4,)),
    ({}, (6, 4), None), ({"beta": 3.0}, (6, 4), (1,)),
])
def test_gemm(tmp_path, attrs, bshape, cshape):
    inits = [const("B", R.normal(size=bshape).astype(np.float32))]
    names = ["x", "B"]
    if cshape:
        inits.append(const("C", R.normal(size=cshape).astype(np.float32)))
        names.append("C")
    text, _ = check(one_op("Gemm", names, (1, 6), attrs, inits), tmp_path, (1, 6))
    assert types(text) == ["Input", "InnerProduct"]


@pytest.mark.parametrize("shape", [(1, 6), (1, 3, 6)])
def test_matmul(tmp_path, shape):
    text, _ = check(one_op("MatMul", ["x", "B"], shape, inits=[const("B", R.normal(size=(6, 5)).astype(np.float32))]),
                    tmp_path, shape)
    assert types(text) == ["Input", "InnerProduct"]


def test_gemm_trans_a_is_refused(tmp_path):
    with pytest.raises(Exception, match="transA"):
        check(one_op("Gemm", ["x", "B"], (1, 6), {"transA": 1}, [const("B", np.ones((1, 4), np.float32))]),
              tmp_path, (1, 6))
