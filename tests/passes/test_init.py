"""run_passes: a whole pipeline on one model, proven by onnxruntime before and after."""
import numpy as np
import onnx_ir as ir
from onnx import helper

from modelport.ir.provenance import ALIAS, CONSTANT, FOLDED
from modelport.passes import (EliminateIdentityPass, FoldBatchNormPass, FoldConstantsPass, FoldScaleShiftPass,
                              RemoveDeadPass, run_passes)
from passes.support import absorbed, bn_params, init, make_model, ops, rng, run, assert_close, vinfo

PIPELINE = [EliminateIdentityPass, FoldConstantsPass, FoldBatchNormPass, FoldScaleShiftPass, RemoveDeadPass]


def network():
    r = rng(41)
    nodes = [helper.make_node("Conv", ["data", "w0"], ["conv0"], pads=[1, 1, 1, 1]),
             helper.make_node("BatchNormalization", ["conv0", "bn0_gamma", "bn0_beta", "bn0_mean", "bn0_var"], ["bn0"],
                              epsilon=2e-5),
             helper.make_node("Mul", ["bn0", "s0"], ["scale0"]),
             helper.make_node("Relu", ["scale0"], ["relu0"]),
             helper.make_node("Dropout", ["relu0"], ["drop0"]),
             helper.make_node("Shape", ["drop0"], ["shape0"]),
             helper.make_node("Gather", ["shape0", "zero"], ["n0"], axis=0),
             helper.make_node("Concat", ["n0", "minus1"], ["newshape0"], axis=0),
             helper.make_node("Reshape", ["drop0", "newshape0"], ["flat0"]),
             helper.make_node("Gemm", ["flat0", "fc_w", "fc_b"], ["fc0"], transB=1),
             helper.make_node("BatchNormalization", ["fc0", "bn1_gamma", "bn1_beta", "bn1_mean", "bn1_var"], ["bn1"],
                              epsilon=1e-3),
             helper.make_node("Identity", ["bn1"], ["out"])]
    inits = [init("w0", r.normal(0, 0.5, (4, 3, 3, 3)).astype(np.float32)),
             init("s0", r.normal(1, 0.3, (4, 1, 1)).astype(np.float32)),
             init("zero", np.array([0], np.int64)), init("minus1", np.array([-1], np.int64)),
             init("fc_w", r.normal(0, 0.2, (5, 4 * 6 * 6)).astype(np.float32)),
             init("fc_b", r.normal(0, 0.2, 5).astype(np.float32)),
             *bn_params("bn0", 4, 2), *bn_params("bn1", 5, 3)]
    return make_model(nodes, [vinfo("data", [2, 3, 6, 6])], [vinfo("out", None)], inits)


def test_pipeline():
    proto = network()
    feeds = {"data": rng(42).normal(0, 1, (2, 3, 6, 6)).astype(np.float32)}
    ref = run(proto, feeds)["out"]
    model = ir.from_proto(proto)
    assert run_passes(model, [p() for p in PIPELINE])
    assert ops(model) == ["Conv", "Relu", "Reshape", "Gemm"]
    assert_close(ref, run(model, feeds)["out"])
    assert absorbed(model) == {"relu0": ("drop0", ALIAS), "conv0": ("scale0", FOLDED),
                               "bn0": ("scale0", FOLDED), "fc0": ("out", FOLDED), "bn1": ("out", ALIAS),
                               **{name: (CONSTANT, FOLDED) for name in ("shape0", "n0", "newshape0")}}
    assert not run_passes(model, [p() for p in PIPELINE])


def test_no_passes():
    model = ir.from_proto(network())
    assert not run_passes(model, [])
