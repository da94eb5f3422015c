"""``modelport.verify``: run the source and the converted model on the same inputs, compare.

``verify_runners(reference, candidate)`` is the generic core: any two runners (see
``modelport.runtimes.Runner``), every tensor both expose compared by name in the
reference's execution order, the first divergent one diagnosed. Names the passes
absorbed are compared through their survivor (aliases) or listed as folded. The
runs happen at the given shape and, where the converted model leaves axes free and
both engines take it, at an odd-sized variant (PITFALL 11).

``verify(source, converted)`` picks the runners: the reference by the source's
frontend (MXNet, or onnxruntime on the original ONNX), the candidate by the target
the converted file belongs to (or converts on the fly into a temporary folder).
"""
from __future__ import annotations

import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from modelport.errors import VerificationError
from modelport.verify.tolerance import DEFAULT_BUDGET, Tolerance

_TRY_SIZES = (224, 112, 96, 64, 48, 32, 28, 24, 12)


@dataclass
class ShapeRun:
    shapes: dict[str, tuple]
    comparison: object | None = None  # verify.compare.Comparison
    skipped: str = ""
    feeds: dict = field(default_factory=dict)  # the inputs both engines ran on


@dataclass
class VerifyReport:
    source: str
    converted: str
    runs: list[ShapeRun] = field(default_factory=list)
    input_range: tuple = (-1.0, 1.0)
    reference: str = ""
    candidate: str = ""
    notes: list[str] = field(default_factory=list)  # what verify decided on the way (probed sizes...)

    @property
    def ok(self) -> bool:
        done = [r for r in self.runs if r.comparison is not None]
        return bool(done) and all(r.comparison.ok for r in done)


def _free_axes(dims: tuple | None) -> list[int]:
    return [] if dims is None else [i for i, d in enumerate(dims) if d is None and i > 0]


def _variants(base: dict[str, tuple], declared: dict[str, tuple | None]) -> list[dict[str, tuple]]:
    """Odd-sized alternatives for the axes the converted model leaves free (batch excepted)."""
    out = []
    for change in (lambda d: (d * 3 // 4) | 1, lambda d: (d + 5) | 1, lambda d: d + 1 if d % 2 == 0 else d + 2):
        variant = {k: tuple(change(d) if i in _free_axes(declared.get(k)) else d for i, d in enumerate(s))
                   for k, s in base.items()}
        if variant != base and variant not in out:
            out.append(variant)
    return out


def _base_shapes(reference, candidate, guessed: dict[str, tuple]) -> tuple[dict[str, tuple], str]:
    both = lambda s: reference.accepts(s) and candidate.accepts(s)  # noqa: E731
    if all(None not in s for s in guessed.values()):
        if both(guessed):
            return guessed, ""
        raise VerificationError(f"the engines do not accept input shapes {_fmt(guessed)}: "
                                f"{_who_refuses(reference, candidate, guessed)}")
    for size in _TRY_SIZES:
        trial = {k: tuple(1 if (i == 0 and d is None) else (size if d is None else d) for i, d in enumerate(s))
                 for k, s in guessed.items()}
        if both(trial):
            return trial, f"free input sizes not given: probed and verified at {_fmt(trial)}"
    raise VerificationError("cannot find an input size both engines accept; give it with --input NAME:1,3,H,W")


def _who_refuses(reference, candidate, shapes) -> str:
    for name, dims in candidate.input_dims().items():
        shape = shapes.get(name)
        if dims is not None and shape is not None and (
                len(dims) != len(shape) or any(d is not None and d != s for d, s in zip(dims, shape))):
            return (f"the converted model fixes other input sizes ({name}: "
                    f"{'x'.join('?' if d is None else str(d) for d in dims)}): convert again at the size to verify")
    refusing = [r.name for r in (reference, candidate) if not r.accepts(shapes)]
    return f"{' and '.join(refusing)} refuse{'s' if len(refusing) == 1 else ''} them"


def _float64(reference, feeds, names: list[str], given: dict | None = None, most: int = 32) -> dict:
    """The reference engine's float64 values of ``names`` (MXNet casts weights and inputs), as many as
    it can give: a graph whose later part pins float32 (a Cast, a typed constant) cannot run in
    float64 as a whole, so on failure each tensor is tried with only what it depends on.
    ``given``: tensors taken as given (``verify.decisions``), the same in the float64 run."""
    import numpy as np

    run = getattr(reference, "run_float64", None)
    if given and run is not None:
        run = getattr(reference, "run_from", None) and (lambda f, n: reference.run_from(f, given, n, float64=True))
    if run is None or not names:
        return {}
    feeds = {k: v.astype(np.float64) if v.dtype == np.float32 else v for k, v in feeds.items()}
    try:
        return run(feeds, names)
    except VerificationError:
        pass
    truth = {}
    for name in names[:most]:
        try:
            truth.update(run(feeds, [name]))
        except VerificationError:
            continue
    return truth


def _row_followers(edges: dict[str, list[str]], detections: dict) -> dict[str, str]:
    """Tensors the reference computes from a detection output (slices of GluonCV's box_nms rows
    into ids, scores and boxes), each with the detection output it comes from; ``edges`` is the
    reference's ``inputs_of()``."""
    from modelport.verify.decisions import readers_of

    readers = readers_of(edges)
    followers: dict[str, str] = {}
    for origin in detections:
        stack = [origin]
        while stack:
            for reader in readers.get(stack.pop(), []):
                if reader not in followers and reader not in detections:
                    followers[reader] = origin
                    stack.append(reader)
    return followers


def _detection_layouts(reference, ref_ops: dict, candidate, cand_ops: dict) -> dict[str, tuple[str, str]]:
    """Tensors either engine wrote with a detection operator, with both layouts (a side without
    one has the other's: the ONNX lowerings of MultiBoxDetection and box_nms keep it row for
    row)."""
    from modelport.verify.detections import layout_of

    out = {}
    ref_ops = _with_first_outputs(ref_ops)
    attrs = reference.node_attrs() if hasattr(reference, "node_attrs") else {}
    for name in set(ref_ops) | set(cand_ops):
        ref_layout = layout_of(reference.name, ref_ops.get(name, ""), attrs.get(name))
        got_layout = layout_of(candidate.name, cand_ops.get(name, ""))
        if ref_layout or got_layout:
            out[name] = (ref_layout or got_layout or "mxnet", got_layout or ref_layout or "mxnet")
    return out


def _with_first_outputs(ops: dict[str, str]) -> dict[str, str]:
    """``op_of()`` with each node's name also as ``X_output0`` (a multi-output node's first tensor)."""
    return {**ops, **{f"{node}_output0": op for node, op in ops.items() if not node.endswith("_output0")}}


def _known(reference, ref_ops: dict, candidate, cand_ops: dict, absorbed: dict, tol: Tolerance):
    """What the comparison knows besides values (``compare.Known``): absorbed names, detections
    (with box_nms's input for near ties), their row followers, the reference's decisions."""
    from modelport.verify.compare import Known
    from modelport.verify.decisions import MOVES, decisions_of, explainer

    ref_ops = _with_first_outputs(ref_ops)
    detections = _detection_layouts(reference, ref_ops, candidate, cand_ops)
    edges = reference.inputs_of() if hasattr(reference, "inputs_of") else {}
    followers = _row_followers(edges, detections)
    for name in [n for n in detections if ref_ops.get(n) in ("_contrib_box_nms", "_contrib_box_non_maximum_suppression")]:
        if edges.get(name):  # box_nms keeps no suppressed rows: its input holds them, for near ties
            detections[name] = (*detections[name], edges[name][0])
    decisions = decisions_of(reference, ref_ops, edges)
    movers = {name for name, op in ref_ops.items() if op in MOVES.get(reference.name, ())}
    return Known(absorbed, detections, followers, explainer(decisions, tol),
                 {name: d.inputs for name, d in decisions.items()}, edges, {*detections, *decisions, *movers})


def _fmt(shapes: dict[str, tuple]) -> str:
    return ", ".join(f"{k}:{'x'.join(map(str, s))}" for k, s in shapes.items())


def _auto_range(runners) -> tuple[float, float]:
    """Raw pixels (0..255) when the graph starts with a mean subtraction, else -1..1."""
    from onnx import numpy_helper

    for runner in runners:
        model = getattr(runner, "model", None)
        graph = getattr(model, "graph", None)
        if graph is None or not hasattr(graph, "initializer"):
            continue
        inputs = set(runner.input_names())
        consts = {i.name: i for i in graph.initializer}
        for node in graph.node:
            if node.op_type in ("Sub", "Add") and inputs & set(node.input):
                for name in node.input:
                    value = numpy_helper.to_array(consts[name]) if name in consts else None
                    if value is not None and value.size == 1 and abs(float(value.ravel()[0])) >= 1.0:
                        return (0.0, 255.0)
    return (-1.0, 1.0)


def _declared(reference, candidate, inputs: dict | None) -> dict[str, tuple | None]:
    names = reference.input_names()
    cand = candidate.input_dims()
    ref = reference.input_dims()
    missing = [n for n in names if n not in cand]
    if missing:
        raise VerificationError(f"the converted model has no input named {', '.join(missing)} "
                                f"(the source's inputs: {', '.join(names)})")
    unknown = [k for k in (inputs or {}) if k not in names]
    if unknown:
        raise VerificationError(f"--input names {', '.join(unknown)}, but the model's inputs are: {', '.join(names)}")
    return {n: cand.get(n) if cand.get(n) is not None else ref.get(n) for n in names}


def _named(shapes: dict, names: list[str]) -> dict[str, tuple]:
    """``{None: shape}`` (a shape given without an input name) -> ``{the only input: shape}``."""
    unknown = [k for k in shapes if k is not None and k not in names]
    if unknown:
        raise VerificationError(f"shapes given for {', '.join(unknown)}, but the model's inputs are: {', '.join(names)}")
    if None not in shapes:
        return dict(shapes)
    if len(names) != 1:
        raise VerificationError(f"the model has {len(names)} inputs ({', '.join(names)}): name them, e.g. "
                                f"{names[0] if names else 'data'}:1x3x224x224")
    return {names[0]: tuple(shapes[None])}


def _diagnose(result, feeds: dict, ref: dict, got: dict, absorbed: dict, ref_ops: dict, candidate, op_of: dict) -> None:
    """Name the likely cause of ``result``'s first divergence (``verify.diagnose``), in place."""
    from modelport.verify.diagnose import Context, diagnose_divergence

    row = result.first_divergence
    name = absorbed.get(row.name, (row.name,))[0]
    found = diagnose_divergence(Context(
        name, ref[row.name], got[name], values={**feeds, **got}, ref_values=ref,
        ref_ops=ref_ops, missing=list(result.missing), node_of=getattr(candidate, "node_of", None),
        op=op_of.get(name, "")))
    result.diagnosis, result.cause, result.evidence = found.message, found.cause, found.evidence


def verify_runners(reference, candidate, inputs: dict[str, tuple] | None = None,
                   shapes: list[dict[str, tuple]] | None = None, seed: int = 0, tol: Tolerance = Tolerance(),
                   stop_at_first: bool = False, input_range: tuple[float, float] | None = None,
                   extra_shapes: bool = True, progress=None, source: str = "", converted: str = "",
                   observe=None, memory_budget: int | None = DEFAULT_BUDGET) -> VerifyReport:
    """Compare ``candidate`` against ``reference`` (two Runners) at one or more input shapes.

    ``observe(shapes, reference, candidate, feeds, ref, got)``, when given, is called after each
    run with both engines' tensors (the HTML report and ``--save-tensors`` use it). ``shapes``
    entries may use the key ``None`` for a model's only input. ``memory_budget`` (bytes, None: no
    limit): where the reference estimates its tensors above it, they are run and compared in
    chunks under it (``verify.bounded``; ``observe`` is then not called, a note says so).
    """
    import numpy as np

    from modelport.verify import bounded, decisions

    declared = _declared(reference, candidate, inputs)
    report = VerifyReport(source, converted, input_range=input_range or _auto_range((candidate, reference)),
                          reference=reference.name, candidate=candidate.name)
    if shapes:
        plan = [_named(s, reference.input_names()) for s in shapes]
    else:
        guessed = {}
        for name, dims in declared.items():
            given = (inputs or {}).get(name)
            if given is None and dims is None:
                raise VerificationError(f"the rank of input '{name}' is unknown; give it with --input {name}:...")
            guessed[name] = tuple(given) if given is not None else dims
        base, note = _base_shapes(reference, candidate, guessed)
        if note:
            report.notes.append(note)
        plan = [base]
        if extra_shapes:
            plan += [v for v in _variants(base, declared) if reference.accepts(v) and candidate.accepts(v)][:1]
    absorbed = candidate.absorbed()
    op_of = candidate.op_of()
    types = candidate.input_types()
    rng = np.random.default_rng(seed)
    heads = reference.head_names()
    ref_ops = reference.op_of()
    known = _known(reference, ref_ops, candidate, op_of, absorbed, tol)
    continues = hasattr(reference, "run_from")
    for run_shapes in plan:
        if not (reference.accepts(run_shapes) and candidate.accepts(run_shapes)):
            report.runs.append(ShapeRun(run_shapes, skipped=_who_refuses(reference, candidate, run_shapes)))
            continue
        feeds = {k: rng.uniform(*report.input_range, size=s).astype(types.get(k, np.float32))
                 for k, s in run_shapes.items()}
        run_from = (lambda values, names, f=feeds: reference.run_from(f, values, names)) if continues else None
        float64 = lambda names, values, f=feeds: _float64(reference, f, names, values)  # noqa: E731
        given = decisions.Given()
        sizes = bounded.estimate(reference, run_shapes) if memory_budget is not None else None
        if sizes and sum(sizes.values()) > memory_budget:  # too big to hold at once: chunk by chunk
            parts = bounded.chunks(reference.order(), sizes, memory_budget)
            result, nonfinite = bounded.walk(reference, candidate, feeds, parts, heads, tol, stop_at_first, known,
                                             float64, run_from, given)
            if result.first_divergence is not None:
                ref, got = bounded.diagnosis_values(reference, candidate, feeds, result, absorbed, sizes,
                                                    memory_budget, nonfinite, given)
                _diagnose(result, feeds, ref, got, absorbed, ref_ops, candidate, op_of)
                del ref, got
            report.notes.append(bounded.note(len(parts), sum(sizes.values()), memory_budget, observe is not None,
                                             _fmt(run_shapes)))
        else:
            ref = reference.run(feeds, "all")
            got = candidate.run(feeds, "all")
            missing = [h for h in heads if h not in got and h not in absorbed]
            if missing:
                raise VerificationError(f"the converted model has no tensor named {', '.join(missing)} "
                                        f"(an output of the source)")
            result, ref = decisions.compare_continued(ref, got, reference.order(), heads, tol, stop_at_first, known,
                                                      float64, run_from, given)
            if result.first_divergence is not None:
                _diagnose(result, feeds, ref, got, absorbed, ref_ops, candidate, op_of)
            if observe:
                observe(run_shapes, reference, candidate, feeds, ref, got)
        if given:
            report.notes.append(f"{_fmt(run_shapes)}: " + decisions.note(given))
        report.runs.append(ShapeRun(run_shapes, result, feeds=feeds))
        if progress:
            progress()
    return report


def verify(source: str | Path, converted: str | Path | None = None, params: str | Path | None = None,
           inputs: dict[str, tuple] | None = None, shapes: list[dict[str, tuple]] | None = None,
           to: str = "onnx", optimize: bool = True, seed: int = 0, tol: Tolerance = Tolerance(),
           stop_at_first: bool = False, input_range: tuple[float, float] | None = None,
           extra_shapes: bool = True, progress=None, observe=None, extra: dict | None = None,
           outputs: list[str] | None = None, memory_budget: int | None = DEFAULT_BUDGET) -> VerifyReport:
    """Verify ``converted`` (a file of any target; converted on the fly when None) against ``source``;
    ``outputs`` cuts the source at those nodes (the reference engine runs the same cut);
    ``memory_budget``: see ``verify_runners``."""
    from modelport import targets
    from modelport.convert import load, prepare
    from modelport.fileio import atomic_outputs
    from modelport.frontends.registry import pick

    source = Path(source)
    frontend = pick(source)
    if shapes and any(None in s for s in shapes):  # shapes given without the input's name: the model's only input
        names = [v.name for v in load(source, params, outputs=outputs).model.graph.inputs]
        shapes = [_named(s, names) for s in shapes]
    kwargs = dict(inputs=inputs, shapes=shapes, seed=seed, tol=tol, stop_at_first=stop_at_first,
                  input_range=input_range, extra_shapes=extra_shapes, progress=progress, source=str(source),
                  observe=observe, memory_budget=memory_budget)
    if converted is not None:
        converted = Path(converted)
        target = targets.for_file(converted)
        if target is None:
            known = ", ".join(f"{t.suffix} ({t.name})" for t in targets.load_all().values())
            raise VerificationError(f"{converted}: not a converted model modelport knows (expected {known})")
        if not converted.is_file():
            raise VerificationError(f"{converted}: file not found")
        if inputs:
            load(source, params, inputs, outputs=outputs)  # the given sizes fit the source (rank, channels, windows) before any engine runs
        candidate = target.runner(converted)
        cut = {"outputs": list(outputs)} if outputs else {}
        reference = frontend.reference(source, Path(params) if params else None, **cut)
        return verify_runners(reference, candidate, converted=str(converted), **kwargs)
    target = targets.get(to)
    if target.static_shapes and not inputs and not shapes:
        raise VerificationError(f"the {to} target fixes input sizes: give them with --input NAME:D1,D2,...")
    if target.static_shapes and shapes and len(shapes) > 1:
        raise VerificationError(f"the {to} target fixes input sizes: convert once per shape "
                                "(modelport convert --input ...) and verify each file")
    loaded = load(source, params, inputs or shapes[0] if (inputs or shapes) else None,
                  dynamic=not target.static_shapes, outputs=outputs)
    target, options = prepare(loaded, to, optimize, extra)
    with tempfile.TemporaryDirectory(prefix="modelport-verify-") as tmp:
        with atomic_outputs(tmp) as staging:
            names = target.write(loaded.model, staging, loaded.stem, options)
        candidate = target.runner(Path(tmp) / names[0])
        reference = loaded.reference()
        return verify_runners(reference, candidate, converted=f"<{to}, converted on the fly>", **kwargs)
