"""``modelport.inspect``: ops with counts, per-layer output shapes, parameters, pitfalls found."""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path


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
    framework: str = ""


def inspect(source: str | Path, params: str | Path | None = None, inputs: dict | None = None) -> InspectReport:
    """Describe a source model (any frontend); shapes are computed at ``inputs`` (static) when given."""
    from modelport.convert import load
    from modelport.ir.proto import value_shapes

    loaded = load(source, params, inputs, dynamic=not inputs)
    values = value_shapes(loaded.model)
    layers = [Layer(name, op, values[name]) for name, op in loaded.layers if name in values]
    graph = loaded.model.graph
    graph_inputs = {v.name: tuple(d if isinstance(d, int) else str(d) for d in v.shape.dims) if v.shape else ()
                    for v in graph.inputs}
    return InspectReport(str(source), str(loaded.weights_file or source), loaded.ops, layers, loaded.param_count,
                         loaded.param_bytes, graph_inputs, [v.name for v in graph.outputs], loaded.findings,
                         loaded.framework)
