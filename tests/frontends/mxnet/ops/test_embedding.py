"""Embedding against real MXNet, with float indices as MXNet takes them."""
import json

import mxnet as mx
import numpy as np
import pytest

from modelport.errors import ConversionError
from oracle import convert_symbol, random_params, roundtrip

ABSENT = object()


def embedding(input_dim=10, output_dim=4, **kw):
    given = {k: v for k, v in kw.items() if v is not ABSENT}
    sym = mx.sym.Embedding(mx.sym.var("data"), input_dim=input_dim, output_dim=output_dim, name="emb", **given)
    attrs = json.loads(sym.tojson())["nodes"][-1].get("attrs", {})
    for key in kw.keys() - given.keys():
        assert key not in attrs, f"{key} should be absent from the symbol JSON"
    return sym


def indices(shape, seed=0, low=0, high=10):
    return np.random.default_rng(seed).integers(low, high, shape).astype(np.float32)


@pytest.mark.parametrize("dtype", [ABSENT, "float32"])
@pytest.mark.parametrize("sparse_grad", [ABSENT, False, True])
@pytest.mark.parametrize("shape", [(5,), (2, 7), (2, 3, 4)])
def test_embedding_lookup(dtype, sparse_grad, shape):
    sym = embedding(dtype=dtype, sparse_grad=sparse_grad)
    roundtrip(sym, {"data": shape}, feeds={"data": indices(shape)})


def test_embedding_truncates_and_clips_indices_like_mxnet():
    """-3.2 and -0.5 read row 0, 1.7 row 1, 9.9 / 10 / 25 the last row (ONNX Gather would wrap -1)."""
    x = np.array([[0, 1.7, 2.2, -0.5, -1, -3.2, 9.9, 10, 25, 9]], np.float32)
    sym = embedding()
    roundtrip(sym, {"data": x.shape}, feeds={"data": x})


def test_embedding_weight_shape_is_checked():
    sym = embedding(input_dim=10, output_dim=4)
    args, _ = random_params(sym, {"data": (2, 3)})
    args["emb_weight"] = mx.nd.zeros((10, 5))
    with pytest.raises(ConversionError, match=r"emb_weight' has shape \(10, 5\), the graph implies \(10, 4\)"):
        convert_symbol(sym, args, {}, {"data": (2, 3)})


def test_embedding_other_dtype_is_refused():
    sym = embedding(dtype="float16")
    args = {"emb_weight": mx.nd.zeros((10, 4))}
    with pytest.raises(ConversionError, match="dtype float16"):
        convert_symbol(sym, args, {}, {"data": (2, 3)})
