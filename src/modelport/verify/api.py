"""``modelport.verify``: run the source and the converted model on the same inputs, compare.

The reference runs in the source framework's own engine (MXNet), the converted
model in its target engine (onnxruntime). Every tensor both expose is compared by
name in execution order; the first divergent one is diagnosed. Fully convolutional
models are checked at the given shape and at an odd-sized variant (PITFALL 11).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from modelport.errors import VerificationError
from modelport.verify.compare import Comparison, Tolerance, compare
from modelport.verify.diagnose import diagnose

_TRY_SIZES = (224, 112, 96, 64, 48, 32, 28, 24, 12)


@dataclass
class ShapeRun:
    shapes: dict[str, tuple]
    comparison: Comparison | None = None
    skipped: str = ""


@dataclass
class VerifyReport:
    source: str
    converted: str
    runs: list[ShapeRun] = field(default_factory=list)
    input_range: tuple = (-1.0, 1.0)

    @property
    def ok(self) -> bool:
        done = [r for r in self.runs if r.comparison is not None]
        return bool(done) and all(r.comparison.ok for r in done)


def _variants(base: dict[str, tuple]) -> list[dict[str, tuple]]:
    """Odd-sized alternatives for the spatial axes of every rank >= 3 input."""
    out = []
    for change in (lambda d: (d * 3 // 4) | 1, lambda d: (d + 5) | 1, lambda d: d + 1 if d % 2 == 0 else d + 2):
        variant = {k: s[:2] + tuple(change(d) for d in s[2:]) if len(s) >= 3 else s for k, s in base.items()}
        if variant != base and variant not in out:
            out.append(variant)
    return out


def _fits(shapes: dict[str, tuple], declared: dict[str, tuple]) -> bool:
    """True when every static dim the converted model declares equals the run's dim."""
    for name, shape in shapes.items():
        dims = declared.get(name)
        if dims is not None and (len(dims) != len(shape) or any(d is not None and d != s for d, s in zip(dims, shape))):
            return False
    return True


def _base_shapes(runner, guessed: dict[str, tuple]) -> dict[str, tuple]:
    if all(None not in s for s in guessed.values()) and runner.infer_shapes(guessed):
        return guessed
    for size in _TRY_SIZES:
        trial = {k: tuple(1 if (i == 0 and d is None) else (size if d is None else d) for i, d in enumerate(s))
                 for k, s in guessed.items()}
        if runner.infer_shapes(trial):
            return trial
    raise VerificationError("cannot find an input size the model accepts; give it with --input NAME:1,3,H,W")


def _auto_range(model) -> tuple[float, float]:
    """Raw pixels (0..255) when the graph starts with mean/scale preprocessing, else -1..1."""
    from onnx import numpy_helper

    graph = model.graph
    inputs = {i.name for i in graph.input} - {i.name for i in graph.initializer}
    consts = {i.name: i for i in graph.initializer}
    for node in graph.node:
        if node.op_type in ("Sub", "Add") and inputs & set(node.input):
            for name in node.input:
                value = numpy_helper.to_array(consts[name]) if name in consts else None
                if value is not None and value.size == 1 and abs(float(value.ravel()[0])) >= 1.0:
                    return (0.0, 255.0)
    return (-1.0, 1.0)


def verify(source: str | Path, converted: str | Path | None = None, params: str | Path | None = None,
           inputs: dict[str, tuple] | None = None, shapes: list[dict[str, tuple]] | None = None,
           seed: int = 0, tol: Tolerance = Tolerance(), stop_at_first: bool = False,
           input_range: tuple[float, float] | None = None, extra_shapes: bool = True,
           progress=None) -> VerifyReport:
    """Verify ``converted`` (an .onnx; converted on the fly when None) against ``source``."""
    import onnx_ir as ir

    from modelport.convert import load
    from modelport.fileio import find_params
    from modelport.runtimes.mxnet_runner import MXNetRunner
    from modelport.runtimes.onnxruntime_runner import OnnxRuntimeRunner

    source = Path(source)
    params = Path(params) if params else find_params(source)
    if converted is None:
        candidate = OnnxRuntimeRunner(ir.to_proto(load(source, params, inputs).model))
    else:
        candidate = OnnxRuntimeRunner(converted)
    reference = MXNetRunner(source, params)
    guessed = {}
    for value in candidate.model.graph.input:
        if value.name in candidate.input_names():
            dims = value.type.tensor_type.shape.dim
            guessed[value.name] = tuple(d.dim_value if d.HasField("dim_value") else None for d in dims)
    declared = dict(guessed)
    guessed.update(inputs or {})
    plan = list(shapes) if shapes else [_base_shapes(reference, guessed)]
    if not shapes and extra_shapes:
        accepted = [v for v in _variants(plan[0]) if _fits(v, declared) and reference.infer_shapes(v)]
        plan += accepted[:1]
    report = VerifyReport(str(source), str(converted or "<in memory>"), input_range=input_range or _auto_range(candidate.model))
    op_of = {o: n.op_type for n in candidate.model.graph.node for o in n.output}
    rng = np.random.default_rng(seed)
    heads = reference.head_names()
    for run_shapes in plan:
        if not _fits(run_shapes, declared):
            report.runs.append(ShapeRun(run_shapes, skipped="the converted model fixes other input sizes (--static)"))
            continue
        if not reference.infer_shapes(run_shapes):
            report.runs.append(ShapeRun(run_shapes, skipped="MXNet does not accept this input size"))
            continue
        feeds = {k: rng.uniform(*report.input_range, size=s).astype(np.float32) for k, s in run_shapes.items()}
        ref = reference.run(feeds, "all")
        got = candidate.run(feeds, "all")
        result = compare(ref, got, reference.order(), heads, tol, stop_at_first)
        missing = [h for h in heads if h not in got]
        if missing:
            raise VerificationError(f"the converted model has no tensor named {', '.join(missing)} (an MXNet output)")
        if result.first_divergence is not None:
            name = result.first_divergence.name
            result.diagnosis = diagnose(ref[name], got[name], op_of.get(name, ""))
        report.runs.append(ShapeRun(run_shapes, result))
        if progress:
            progress()
    return report
