"""The diagnosis core on hand-built nodes: ambiguity, untrusted op models, value-only runners, the registry."""
import numpy as np
import pytest

from modelport.runtimes import NodeInfo
from modelport.verify.diagnose import RULES, Context, diagnose_divergence
from modelport.verify.diagnose.ops import OPS

RNG = np.random.default_rng(0)
X = RNG.uniform(-1, 1, (1, 3, 6, 6))
W = RNG.normal(0, 0.5, (4, 3, 3, 3))
ATTRS = {"kernel_shape": [3, 3], "pads": [1, 1, 1, 1], "strides": [1, 1], "group": 1}


def conv_context(ref, got, **kw):
    node = NodeInfo("Conv", "conv1", ["data", "w"], ["conv1"], dict(ATTRS), {"w": W})
    producers = {"conv1": node}
    return Context("conv1", ref, got, values={"data": X, "conv1": got}, node_of=producers.get, **kw)


def test_two_causes_that_reproduce_equally_give_unknown_naming_both():
    """A bias-free conv with zero padding: conv(0.5 x) == 0.5 conv(x). Missing x0.5 preprocessing and weights
    scaled by 0.5 are indistinguishable here, so neither is claimed."""
    got = OPS["Conv"]([X, W], ATTRS)
    ref = OPS["Conv"]([0.5 * X, W], ATTRS)
    found = diagnose_divergence(conv_context(ref, got, ref_values={"_mulscalar0": 0.5 * X},
                                             ref_ops={"_mulscalar0": "_mul_scalar"}, missing=["_mulscalar0"]))
    assert found.cause == "unknown"
    assert "several causes" in found.message
    assert "weights_scaled" in found.message and "preprocessing_missing" in found.message


def test_each_cause_alone_is_named():
    got = OPS["Conv"]([X, W], ATTRS)
    scaled = diagnose_divergence(conv_context(OPS["Conv"]([X, 0.5 * W], ATTRS), got))
    assert scaled.cause == "weights_scaled" and "reproduces the reference" in scaled.message
    bgr = diagnose_divergence(conv_context(OPS["Conv"]([X[:, ::-1], W], ATTRS), got))
    assert bgr.cause == "channel_order" and "RGB vs BGR" in bgr.message


def test_no_claim_when_the_numpy_model_does_not_reproduce_the_candidate():
    got = OPS["Conv"]([X, W], ATTRS) + 0.3  # not what this node computes: the engine differs, not the node
    found = diagnose_divergence(conv_context(OPS["Conv"]([X, 0.5 * W], ATTRS), got))
    assert found.cause == "unknown" and "one-op model" in found.message


def test_runner_without_node_of_gets_hedged_value_rules():
    ref = RNG.normal(size=(1, 4, 5, 5))
    found = diagnose_divergence(Context("pool", ref, RNG.normal(size=(1, 4, 6, 6)), op="MaxPool"))
    assert found.cause == "pool_ceil_floor" and "possibly" in found.message
    found = diagnose_divergence(Context("x", ref, ref * 1.5, op="Conv"))
    assert found.cause == "unknown"


def test_rules_register_by_op_type():
    diagnose_divergence(Context("x", np.ones(2), np.zeros(2)))  # loads the rule modules
    by_op = {}
    for ops, fn in RULES:
        for op in ops or {"*"}:
            by_op.setdefault(op, []).append(fn.__name__)
    assert {"eps_convention", "gamma_one", "some_channels"} <= set(by_op["BatchNormalization"])
    assert {"ceil_floor", "count_include_pad"} <= set(by_op["AveragePool"])
    assert {"extra_operations", "skipped_operations"} <= set(by_op["*"])


def _ort(op_type, inputs, attrs, weights=()):
    """Run one ONNX node in onnxruntime; ``weights``: positions of inputs given as initializers."""
    import onnxruntime as ort
    from onnx import TensorProto, helper, numpy_helper

    names = [f"i{k}" for k in range(len(inputs))]
    node = helper.make_node(op_type, names, ["y"], **attrs)
    feeds = {n: v.astype(np.float32) for k, (n, v) in enumerate(zip(names, inputs)) if k not in weights}
    graph = helper.make_graph(
        [node], "one", [helper.make_tensor_value_info(n, TensorProto.FLOAT, v.shape) for n, v in feeds.items()],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)],
        [numpy_helper.from_array(inputs[k].astype(np.float32), names[k]) for k in weights])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=8)
    sess = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    return sess.run(None, feeds)[0]


@pytest.mark.parametrize("op_type, shapes, attrs", [
    ("Conv", [(2, 6, 11, 9), (4, 3, 3, 2), (4,)],
     dict(pads=[1, 0, 2, 1], strides=[2, 1], dilations=[2, 1], group=2, kernel_shape=[3, 2])),
    ("Conv", [(1, 8, 7, 7), (8, 1, 3, 3)], dict(pads=[1, 1, 1, 1], strides=[2, 2], group=8)),
    ("MaxPool", [(1, 3, 9, 10)], dict(kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1], ceil_mode=1)),
    ("MaxPool", [(1, 3, 8, 8)], dict(kernel_shape=[2, 2], strides=[2, 2], ceil_mode=0)),
    ("AveragePool", [(1, 3, 9, 10)], dict(kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1], ceil_mode=1,
                                          count_include_pad=1)),
    ("AveragePool", [(1, 3, 9, 10)], dict(kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1], ceil_mode=1,
                                          count_include_pad=0)),
    ("AveragePool", [(1, 2, 8, 7)], dict(kernel_shape=[3, 2], strides=[1, 2], pads=[1, 0, 1, 1],
                                         count_include_pad=1)),
    ("BatchNormalization", [(2, 4, 3, 3), (4,), (4,), (4,), (4,)], dict(epsilon=1e-3)),
    ("PRelu", [(1, 4, 3, 3), (4, 1, 1)], {}),
    ("LeakyRelu", [(1, 4, 3, 3)], dict(alpha=0.2)),
    ("Softmax", [(2, 3, 4, 5)], dict(axis=1)),
    ("Softmax", [(2, 3, 4, 5)], dict(axis=-1)),
    ("Gemm", [(2, 6), (5, 6), (5,)], dict(transB=1, alpha=0.5, beta=2.0)),
])
def test_numpy_op_models_match_onnxruntime(op_type, shapes, attrs):
    inputs = [RNG.uniform(-1, 1, s) for s in shapes]
    if op_type == "BatchNormalization":
        inputs[4] = np.abs(inputs[4]) + 0.1
    weights = tuple(range(1, len(inputs)))
    expected = _ort(op_type, inputs, attrs, weights)
    got = OPS[op_type]([v.astype(np.float32) for v in inputs], attrs)
    assert got.shape == expected.shape
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-5)


def _relu_context(x, ref, got, ref_x=None):
    node = NodeInfo("Relu", "relu1", ["bn1"], ["relu1"], {}, {})
    return Context("relu1", ref, got, values={"bn1": x, "relu1": got},
                   ref_values={"bn1": x if ref_x is None else ref_x, "relu1": ref}, node_of={"relu1": node}.get)


def test_nan_carried_in_by_both_engines_is_named_as_upstream_values_not_the_node():
    """A BatchNorm with negative variance gives NaN channels in both engines; MXNet's float32 ReLU
    then gives 0 there, ONNX Relu NaN: the Relu is not wrong, the values are meaningless."""
    x = RNG.normal(size=(1, 6, 1, 1))
    x[0, [1, 4]] = np.nan
    got = np.maximum(x, 0)
    ref = np.where(np.isnan(x), 0.0, got)
    found = diagnose_divergence(_relu_context(x, ref, got))
    assert found.cause == "nonfinite_input", found.message
    assert "'bn1' (2 cells)" in found.message and "first tensor with NaN/inf is 'bn1'" in found.message
    shifted = x.copy()  # the reference's input has its NaN elsewhere: the divergence is upstream, no claim here
    shifted[0, 1], shifted[0, 2] = 0.5, np.nan
    assert diagnose_divergence(_relu_context(x, ref, got, ref_x=shifted)).cause != "nonfinite_input"
