"""Small ONNX models for the quantization tests."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
from onnx import helper

from backends.caffe.caffe_support import init, model


def outlier_net(folder: Path) -> Path:
    """Four convolutions; c2 reads a tensor with one channel ~1000x the others, so NNIE's
    per-tensor log code (127 steps of 2^(1/16): 7.9 octaves) crushes the other channels to 0:
    c2 needs 16 bits, the rest is fine at 8. c3 is a depthwise (group == channels) convolution."""
    rng = np.random.default_rng(0)
    w1 = rng.normal(0, 0.3, (8, 3, 3, 3)).astype(np.float32)
    scale = np.ones((1, 8, 1, 1), np.float32)
    scale[0, 0] = 3000.0
    w2 = rng.normal(0, 0.3, (8, 8, 3, 3)).astype(np.float32)
    w2[:, 0] *= 1e-4  # the outlier channel barely matters: the information is in the others
    w3 = rng.normal(0, 0.3, (8, 1, 3, 3)).astype(np.float32)
    w4 = rng.normal(0, 0.3, (4, 8, 1, 1)).astype(np.float32)
    nodes = [helper.make_node("Conv", ["x", "w1", "b1"], ["c1"], pads=[1, 1, 1, 1]),
             helper.make_node("Relu", ["c1"], ["r1"]),
             helper.make_node("Mul", ["r1", "scale"], ["s1"]),
             helper.make_node("Conv", ["s1", "w2"], ["c2"], pads=[1, 1, 1, 1]),
             helper.make_node("Relu", ["c2"], ["r2"]),
             helper.make_node("Conv", ["r2", "w3"], ["c3"], pads=[1, 1, 1, 1], group=8),
             helper.make_node("Relu", ["c3"], ["r3"]),
             helper.make_node("Conv", ["r3", "w4"], ["y"])]
    inits = [init("w1", w1), init("b1", rng.normal(0, 0.1, 8).astype(np.float32)), init("scale", scale),
             init("w2", w2), init("w3", w3), init("w4", w4)]
    path = Path(folder) / "outlier.onnx"
    onnx.save(model(nodes, {"x": (1, 3, 16, 16)}, ["y"], inits), path)
    return path
