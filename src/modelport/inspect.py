"""``modelport.inspect``: ops with counts, per-layer output shapes, parameters, pitfalls found."""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np


@dataclass
class Layer:
    name: str
    op: str
    shape: tuple


@dataclass
class InspectReport:
    source: str
    params_file: str
    ops: Counter
    layers: list[Layer]
    param_count: int
    param_bytes: int
    inputs: dict[str, tuple]
    outputs: list[str]
    findings: list[str] = field(default_factory=list)


def _shapes(model) -> dict[str, tuple]:
    """Every value's shape, by ONNX shape inference with data propagation over the whole graph."""
    import onnx

    from modelport.backends.onnx.writer import skeleton, weightless

    proto = weightless(*skeleton(model))
    inferred = onnx.shape_inference.infer_shapes(proto, data_prop=True)
    shapes = {}
    for info in list(inferred.graph.value_info) + list(inferred.graph.output):
        dims = info.type.tensor_type.shape.dim
        shapes[info.name] = tuple(d.dim_value if d.HasField("dim_value") else (d.dim_param or "?") for d in dims)
    return shapes


def inspect(source: str | Path, params: str | Path | None = None, inputs: dict | None = None) -> InspectReport:
    """Describe an MXNet checkpoint; shapes are computed at ``inputs`` (static) when given."""
    from modelport.convert import load
    from modelport.frontends.mxnet.findings import FINDINGS

    loaded = load(source, params, inputs, dynamic=not inputs)
    graph, weights = loaded.graph, loaded.weights
    values = _shapes(loaded.model)
    layers = []
    for node in graph.nodes:
        if node.is_variable:
            continue
        for name in (node.name, f"{node.name}_output0"):
            if name in values:
                layers.append(Layer(node.name, node.op, values[name]))
                break
    findings = [text for fn in FINDINGS for text in fn(graph, weights)]
    graph_inputs = {v.name: tuple(d if isinstance(d, int) else str(d) for d in v.shape.dims)
                    for v in loaded.model.graph.inputs}
    return InspectReport(str(source), str(loaded.params), Counter(n.op for n in graph.nodes if not n.is_variable),
                         layers, int(sum(np.prod(w.shape, dtype=np.int64) for w in weights.values())),
                         int(sum(w.nbytes for w in weights.values())), graph_inputs,
                         [graph.nodes[h[0]].name for h in graph.heads], findings)
