"""Input shapes: the user's, or a guess from the first layer that reads the input.

A guess fills what the weights fix (channels, features) and leaves the rest None:
batch and spatial sizes. ``symbolic_shape`` turns the batch and spatial axes into
named dimensions so the converted model accepts other sizes (PITFALL 11).
"""
from __future__ import annotations

import numpy as np

from modelport.errors import ConversionError
from modelport.frontends.mxnet.attrs import Attrs
from modelport.frontends.mxnet.reader import MXGraph, MXNode

# Ops whose output has the input's shape: look through them for the first real layer.
SHAPE_PRESERVING = {
    "_minus_scalar", "_plus_scalar", "_mul_scalar", "_div_scalar", "_rminus_scalar", "_rdiv_scalar",
    "Activation", "LeakyReLU", "BatchNorm", "clip", "Dropout", "identity", "_copy", "BlockGrad",
    "relu", "sigmoid", "tanh", "InstanceNorm", "broadcast_sub", "broadcast_add", "broadcast_mul",
    "broadcast_div", "elemwise_add", "elemwise_sub", "elemwise_mul",
}
SPATIAL_NAMES = ("D", "H", "W")


def _first_layer_shape(graph: MXGraph, weights: dict, node: MXNode, seen: set) -> tuple | None:
    for consumer_id, slot in graph.consumers.get(node.id, []):
        consumer = graph.nodes[consumer_id]
        if consumer_id in seen or slot != 0:
            continue
        seen.add(consumer_id)
        weight = None
        if len(consumer.inputs) > 1:
            wnode = graph.nodes[consumer.inputs[1][0]]
            weight = weights.get(wnode.name) if wnode.is_variable else None
        attrs = Attrs(consumer.op, consumer.name, consumer.attrs)
        if consumer.op == "Convolution" and weight is not None:
            channels = weight.shape[1] * attrs.int("num_group")
            return (None, channels) + (None,) * (weight.ndim - 2)
        if consumer.op == "Deconvolution" and weight is not None:
            return (None, weight.shape[0]) + (None,) * (weight.ndim - 2)
        if consumer.op == "FullyConnected" and weight is not None:
            return (None, weight.shape[1])
        if consumer.op in SHAPE_PRESERVING:
            found = _first_layer_shape(graph, weights, consumer, seen)
            if found is not None:
                return found
    return None


def guess_input_shapes(graph: MXGraph, weights: dict[str, np.ndarray], inputs: list[MXNode],
                       user: dict[str, tuple]) -> dict[str, tuple]:
    shapes, problems = {}, []
    for name in user:
        if name not in {n.name for n in inputs}:
            problems.append(f"--input names '{name}', but the graph inputs are: {', '.join(n.name for n in inputs)}")
    for node in inputs:
        if node.name in user:
            shapes[node.name] = tuple(user[node.name])
            continue
        guess = _first_layer_shape(graph, weights, node, set())
        if guess is None:
            problems.append(f"cannot tell the rank of input '{node.name}'; give it with --input {node.name}:1,3,224,224")
        else:
            shapes[node.name] = guess
    if problems:
        raise ConversionError(problems, header="input shapes")
    return shapes


def symbolic_shape(shape: tuple) -> tuple:
    """Batch -> 'N', spatial axes of a rank >= 3 tensor -> 'H', 'W' (and 'D')."""
    out = ["N"] + list(shape[1:])
    if len(shape) >= 3:
        names = SPATIAL_NAMES[-(len(shape) - 2):] if len(shape) - 2 <= 3 else [f"S{i}" for i in range(len(shape) - 2)]
        out[2:] = names
    return tuple(out)
