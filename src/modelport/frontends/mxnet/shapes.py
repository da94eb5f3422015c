"""Input shapes: the user's, or a guess from the first layer that reads the input.

A guess fills what the weights fix (channels, features) and leaves the rest None:
batch and spatial sizes. Which ops fix their input's shape from a weight
(``input_shape``) and which ones the guess looks through (``shape_preserving``) is
declared where each op is registered. ``symbolic_shape`` turns the batch and
spatial axes into named dimensions so the converted model accepts other sizes
(PITFALL 11).
"""
from __future__ import annotations

import numpy as np

from modelport.errors import ConversionError
from modelport.frontends.mxnet.attrs import Attrs
from modelport.frontends.mxnet.reader import MXGraph, MXNode
from modelport.frontends.mxnet.registry import spec_of

SPATIAL_NAMES = ("D", "H", "W")


def _first_layer_shape(graph: MXGraph, weights: dict, node: MXNode, seen: set) -> tuple[tuple, MXNode] | None:
    """(the shape the first weighted layer fixes, that layer), looking through shape-preserving ops."""
    for consumer_id, slot in graph.consumers.get(node.id, []):
        consumer = graph.nodes[consumer_id]
        if consumer_id in seen or slot != 0:
            continue
        seen.add(consumer_id)
        spec = spec_of(consumer.op)
        if spec is None:
            continue
        weight = None
        if len(consumer.inputs) > 1:
            wnode = graph.nodes[consumer.inputs[1][0]]
            weight = weights.get(wnode.name) if wnode.is_variable else None
        if spec.input_shape is not None and weight is not None and weight.ndim >= 2:
            return spec.input_shape(Attrs(consumer.op, consumer.name, consumer.attrs), weight), consumer
        if spec.shape_preserving:
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
        found = _first_layer_shape(graph, weights, node, set())
        if node.name in user:
            shapes[node.name] = tuple(user[node.name])
            if found is not None:
                problems += _contradiction(node.name, shapes[node.name], *found)
        elif found is None:
            problems.append(f"cannot tell the rank of input '{node.name}'; give it with --input {node.name}:1,3,224,224")
        else:
            shapes[node.name] = found[0]
    if problems:
        raise ConversionError(problems, header="input shapes")
    return shapes


def _contradiction(name: str, given: tuple, fixed: tuple, layer: MXNode) -> list[str]:
    """The user's shape against what the first weighted layer fixes: rank and channels of a
    convolution. (A FullyConnected takes any rank, flattening or not: its weight check says more.)"""
    if len(fixed) < 3:
        return []
    wanted = "x".join("?" if d is None else str(d) for d in fixed)
    where = f"the first layer '{layer.name}' ({layer.op}) takes {wanted}"
    if len(given) != len(fixed):
        return [f"--input {name}:{'x'.join(map(str, given))} has rank {len(given)}, but {where} (rank {len(fixed)})"]
    bad = [i for i, (g, f) in enumerate(zip(given, fixed)) if f is not None and g != f]
    if bad:
        axes = ", ".join(f"{fixed[i]} at axis {i} (given {given[i]})" for i in bad)
        return [f"--input {name}:{'x'.join(map(str, given))} does not fit: {where}, i.e. {axes}"]
    return []


def symbolic_shape(shape: tuple) -> tuple:
    """Batch -> 'N', spatial axes of a rank >= 3 tensor -> 'H', 'W' (and 'D')."""
    out = ["N"] + list(shape[1:])
    if len(shape) >= 3:
        names = SPATIAL_NAMES[-(len(shape) - 2):] if len(shape) - 2 <= 3 else [f"S{i}" for i in range(len(shape) - 2)]
        out[2:] = names
    return tuple(out)
