"""The pipeline: load -> contract -> target passes -> target check -> atomic write.

    load(files)            frontend chosen by file type        -> Loaded (ir.Model, findings, reference)
    check_contract(model)  opset, IR version, domains, names
    passes                 the target profile's pipeline (targets/<name>.py says why in that order)
    target.check(model)    every op the target cannot take, listed at once, before writing
    target.write(model)    into a staging folder, renamed into place when complete
"""
from __future__ import annotations

from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from pathlib import Path

from modelport.errors import ModelportError, UnsupportedOpsError
from modelport.frontends.registry import Loaded
from modelport.text import plural


@dataclass
class ConvertResult:
    files: list[Path]
    loaded: Loaded
    target: str
    nodes_before: int = 0
    nodes_after: int = 0
    warnings: list[str] = field(default_factory=list)


def parse_input_spec(specs: list[str] | None) -> dict[str, tuple[int, ...]]:
    """``["data:1,3,224,224"]`` -> ``{"data": (1, 3, 224, 224)}``."""
    shapes = {}
    for spec in specs or []:
        name, sep, dims = spec.rpartition(":")
        try:
            shape = tuple(int(d) for d in dims.replace("x", ",").split(",") if d.strip())
        except ValueError:
            shape = ()
        if not sep or not name or not shape or any(d <= 0 for d in shape):
            raise ModelportError(f"--input {spec!r}: expected NAME:D1,D2,... with positive sizes, e.g. data:1,3,224,224")
        shapes[name] = shape
    return shapes


def load(source: str | Path, params: str | Path | None = None, inputs: dict | None = None,
         dynamic: bool = True, progress=None, outputs: list[str] | None = None) -> Loaded:
    """Read a source model (MXNet -symbol.json + .params, or .onnx) into the IR; ``outputs`` cuts
    the graph at those nodes (everything they do not need is dropped)."""
    from modelport.frontends.registry import pick

    source = Path(source)
    fe = pick(source)
    extra = {"outputs": list(outputs)} if outputs else {}
    loaded = fe.load(source, Path(params) if params else None, inputs=inputs, dynamic=dynamic, progress=progress,
                     **extra)
    if inputs:
        _check_sizes(loaded, inputs)
    return loaded


def _check_sizes(loaded: Loaded, inputs: dict) -> None:
    """Inputs too small for the network fail here, naming the first layer they break."""
    from modelport.errors import ConversionError
    from modelport.ir.sizes import size_problem

    graph_inputs = loaded.model.graph.inputs
    if {v.name for v in graph_inputs} - set(inputs):
        return  # some input's size is not known: nothing to check statically
    problem = size_problem(loaded.model, {v.name: tuple(inputs[v.name]) for v in graph_inputs}, loaded.spatial_axes)
    if problem:
        raise ConversionError([problem], header=f"{loaded.source}: input shapes")


def prepare(loaded: Loaded, to: str = "onnx", optimize: bool = True, extra: dict | None = None):
    """Contract check, the target's passes and its check, in place. Returns the Target."""
    from modelport import targets
    from modelport.ir.contract import check_contract
    from modelport.passes import run_passes

    target = targets.get(to)
    options = targets.Options(optimize=optimize, extra=dict(extra or {}))
    check_contract(loaded.model)
    run_passes(loaded.model, target.passes(options))
    problems = target.check(loaded.model)
    if problems:
        raise UnsupportedOpsError(f"{loaded.source}: the {to} target cannot take {plural(len(problems), 'kind')} of "
                                  "node, nothing was written:\n" + "\n".join(f"  - {p}" for p in problems))
    return target, options


def convert(source: str | Path, params: str | Path | None = None, to: str = "onnx",
            output_dir: str | Path = ".", inputs: dict | None = None, dynamic: bool = True,
            optimize: bool = True, progress: bool = False, extra: dict | None = None,
            outputs: list[str] | None = None) -> ConvertResult:
    """Convert ``source`` to ``to`` under ``output_dir``. Nothing is written unless all succeeds."""
    from modelport import targets
    from modelport.fileio import atomic_outputs

    target = targets.get(to)
    with _progress(progress, "converting") as tick:
        loaded = load(source, params, inputs, dynamic and not target.static_shapes, progress=tick, outputs=outputs)
    before = sum(1 for _ in loaded.model.graph)
    with _collect_warnings() as warned:
        target, options = prepare(loaded, to, optimize, extra)
        with atomic_outputs(output_dir) as staging:
            names = target.write(loaded.model, staging, loaded.stem, options)
    return ConvertResult([Path(output_dir) / n for n in names], loaded, to, before, sum(1 for _ in loaded.model.graph),
                         warned)


@contextmanager
def _collect_warnings():
    """The ConversionWarnings raised inside, each once, in order; re-raised for the caller's own filters."""
    import warnings

    from modelport.errors import ConversionWarning

    messages: list[str] = []
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ConversionWarning)
        yield messages
    for w in caught:
        text = str(w.message)
        if issubclass(w.category, ConversionWarning):
            if text in messages:
                continue
            messages.append(text)
        warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)


def _progress(enabled: bool, label: str):
    if not enabled:
        return nullcontext(None)
    from modelport.verify.report import node_progress
    return node_progress(label)
