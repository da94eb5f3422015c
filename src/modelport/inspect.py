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


def _probed_shapes(model, convert_at) -> dict[str, tuple] | None:
    """Shapes in the model's own dim names (N, H/2, W/32...): the model converted at two concrete
    sizes (``convert_at(shapes)``, a static conversion: shape arithmetic folds, so every layer's
    size is known) and matched back; None when it has no free dims or a size does not fit it."""
    from modelport.errors import ModelportError
    from modelport.ir.proto import value_shapes

    free = {}  # (input, axis) -> dim name
    for value in model.graph.inputs:
        for i, d in enumerate(value.shape.dims if value.shape is not None else ()):
            if not isinstance(d, int):
                free[(value.name, i)] = str(d.value or "?") if d is not None else "?"
    if not free or any(v.shape is None for v in model.graph.inputs):
        return None
    probes = []
    for base in (0, 1):  # batch 1 then 2; each other free axis its own sizes, growing by its own step
        sizes = {key: (1 + base if key[1] == 0 else 224 + 96 * base + (32 + 32 * base) * n)
                 for n, key in enumerate(free)}
        shapes = {v.name: tuple(sizes.get((v.name, i), d) for i, d in enumerate(v.shape.dims)) for v in model.graph.inputs}
        try:
            static = value_shapes(convert_at(shapes))
        except ModelportError:
            return None
        probes.append((sizes, {k: [d if isinstance(d, int) else None for d in v] for k, v in static.items()}))
    (sizes_a, a), (sizes_b, b) = probes
    out = {}
    for name, dims_a in a.items():
        dims_b = b.get(name)
        if dims_b is None or len(dims_b) != len(dims_a):
            continue
        out[name] = tuple(_label(x, y, free, sizes_a, sizes_b) for x, y in zip(dims_a, dims_b))
    return out


def _label(x, y, free, sizes_a, sizes_b):
    if x is None or y is None or x <= 0 or y <= 0:
        return "?"
    if x == y:
        return x
    for key, name in free.items():
        sa, sb = sizes_a[key], sizes_b[key]
        if x * sb == y * sa:  # the same ratio to this input axis at both sizes
            if x == sa:
                return name
            if sa % x == 0 and sb % y == 0:
                return f"{name}/{sa // x}"
            if x % sa == 0:
                return f"{name}*{x // sa}"
        if x - sa == y - sb:  # the same offset from this input axis at both sizes
            return f"{name}{x - sa:+d}"
    return "?"


def inspect(source: str | Path, params: str | Path | None = None, inputs: dict | None = None,
            outputs: list[str] | None = None) -> InspectReport:
    """Describe a source model (any frontend); shapes are computed at ``inputs`` (static) when given."""
    from modelport.convert import load
    from modelport.ir.proto import value_shapes

    loaded = load(source, params, inputs, dynamic=not inputs, outputs=outputs)
    at = lambda shapes: load(source, params, shapes, dynamic=False, outputs=outputs).model  # noqa: E731
    values = (None if inputs else _probed_shapes(loaded.model, at)) or value_shapes(loaded.model)
    layers = [Layer(name, op, values[name]) for name, op in loaded.layers if name in values]
    graph = loaded.model.graph
    graph_inputs = {v.name: tuple(d if isinstance(d, int) else str(d) for d in v.shape.dims) if v.shape else ()
                    for v in graph.inputs}
    return InspectReport(str(source), str(loaded.weights_file or source), loaded.ops, layers, loaded.param_count,
                         loaded.param_bytes, graph_inputs, [v.name for v in graph.outputs], loaded.findings,
                         loaded.framework)
