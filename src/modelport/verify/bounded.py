"""Verify in bounded memory: the reference's tensors compared a chunk at a time.

``verify_runners`` holds both engines' results of one run with every tensor exposed; a model
whose tensors outgrow memory (GluonCV's Faster R-CNN at 320x320: 9 GB in MXNet, 7.4 GB in
onnxruntime) is killed there. When the reference can estimate its tensors' sizes without
running (``Runner.tensor_bytes``, MXNet's shape inference) and they exceed the budget, the
reference's execution order is cut into consecutive chunks under the budget; each chunk is
run in both engines asking only for its names (onnxruntime then builds a session exposing
just those), compared with the same ``compare`` (tolerance, absorbed names, detections with
box_nms's input fetched alongside, row followers, the float64 check on the chunk's failing
rows), and its arrays dropped before the next. The rows are the ones the single run gives,
in the same order; the first failing one is the first divergence. The diagnosis then
re-fetches only what it reads: the divergent tensor, its node's inputs and the chains of
single-input producers behind them, the reference tensors the candidate lacks, and the
reference's first tensor holding NaN/inf. The HTML report and --save-tensors, which need every
tensor at once, are not produced in this mode (a note says so).
"""
from __future__ import annotations

import numpy as np

from modelport.verify.compare import Comparison, compare_rechecked
from modelport.verify.tolerance import DEFAULT_BUDGET  # noqa: F401 - where the budget's default lives

_CHAIN = 10  # producers followed back from the divergent node's inputs (the preprocessing rules walk <= 9)
_MISSING = 24  # reference tensors the candidate lacks fetched for the diagnosis when they are too big all


def estimate(reference, shapes: dict[str, tuple]) -> dict[str, int] | None:
    """The reference's tensor sizes at ``shapes`` (``Runner.tensor_bytes``), None when it cannot say."""
    sizer = getattr(reference, "tensor_bytes", None)
    if sizer is None:
        return None
    try:
        sizes = sizer(shapes)
    except Exception:  # noqa: BLE001 - an estimate that fails leaves verify as it was
        return None
    return sizes or None


def chunks(order: list[str], sizes: dict[str, int], budget: int) -> list[list[str]]:
    """``order`` (duplicates dropped) cut into consecutive runs of at most ``budget`` bytes each
    (a tensor bigger than the budget alone in its chunk; unknown sizes count 0)."""
    out: list[list[str]] = []
    current: list[str] = []
    held = 0
    for name in dict.fromkeys(order):
        size = sizes.get(name, 0)
        if current and held + size > budget:
            out.append(current)
            current, held = [], 0
        current.append(name)
        held += size
    if current:
        out.append(current)
    return out


def _bytes(n: int) -> str:
    for unit, scale in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if n >= scale:
            return f"{n / scale:.1f} {unit}"
    return f"{n} bytes"


def note(n_chunks: int, total: int, budget: int, observed: bool, shapes: str) -> str:
    text = (f"verified in {n_chunks} chunks at {shapes}: the reference's tensors ({_bytes(total)}) exceed the "
            f"memory budget ({_bytes(budget)}), so each chunk was run in both engines and compared on its own")
    if observed:
        text += "; the HTML report and --save-tensors need every tensor at once and were not produced"
    return text


def walk(reference, candidate, feeds: dict, parts: list[list[str]], heads: list[str], tol, stop_at_first: bool,
         known, float64, run_from, given: dict, progress=None) -> tuple[Comparison, str]:
    """Compare chunk by chunk; the merged Comparison (no diagnosis yet) and the first reference
    tensor holding NaN/inf (for the diagnosis). ``float64(names, given)``: api's ``_float64``;
    ``run_from``/``given``: as ``decisions.compare_continued``, shared by the chunks (a chunk after
    a given tensor is run from it)."""
    from modelport.errors import VerificationError
    from modelport.verify.decisions import compare_continued

    total = Comparison()
    first_nonfinite = ""
    for part in parts:
        inside = set(part)
        # a decision's operands; a detection's inputs (box_nms's candidate rows, rule 4's inputs)
        also = [r for n in part for r in known.reads.get(n, [])]
        also += [r for n in part if n in known.detections for r in known.edges.get(n, [])]
        names = list(dict.fromkeys([*part, *also]))
        ref = run_from(dict(given), names) if given and run_from else reference.run(feeds, names)
        wanted = [*part, *(known.absorbed[n][0] for n in part if n in known.absorbed), *also]
        got = candidate.run(feeds, list(dict.fromkeys(wanted)))
        missing = [h for h in heads if h in inside and h not in got and h not in known.absorbed]
        if missing:
            raise VerificationError(f"the converted model has no tensor named {', '.join(missing)} "
                                    f"(an output of the source)")
        chunk_from = (lambda values, wanted_names, n=names: run_from(values, [x for x in n if x in wanted_names])) \
            if run_from else None
        result, ref = compare_continued(ref, got, part, heads, tol, stop_at_first, known, float64, chunk_from, given)
        if not first_nonfinite:
            first_nonfinite = next((n for n in part if n in ref and _nonfinite(ref[n])), "")
        del ref, got
        _give_back()
        total.rows += result.rows
        total.missing += result.missing
        total.folded += result.folded
        if total.first_divergence is None:
            total.first_divergence = result.first_divergence
        if progress:
            progress()
        if stop_at_first and total.first_divergence is not None:
            break
    return total, first_nonfinite


def _give_back() -> None:
    """Return the freed heap to the system (glibc's ``malloc_trim``): the engines' worker threads
    allocate in their own malloc arenas, which otherwise keep each chunk's memory (+2 GB a chunk
    on Faster R-CNN)."""
    import ctypes

    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):  # not glibc
        pass


def _nonfinite(a) -> bool:
    a = np.asarray(a)
    return bool(np.issubdtype(a.dtype, np.floating) and not np.isfinite(a).all())


def diagnosis_values(reference, candidate, feeds: dict, result: Comparison, absorbed: dict, sizes: dict[str, int],
                     budget: int, first_nonfinite: str, given: dict | None = None) -> tuple[dict, dict]:
    """(reference values, candidate values) the diagnosis of ``result.first_divergence`` reads,
    fetched anew (the reference from the ``given`` tensors it continued from, if any); the
    reference's in its execution order (the NaN/inf rule reads them so)."""
    row = result.first_divergence
    name = absorbed.get(row.name, (row.name,))[0]
    node_of = getattr(candidate, "node_of", None)
    around = [name]
    node = _node(node_of, name)
    if node is not None:
        for source in node.inputs:
            cur = source
            for _ in range(_CHAIN):  # the chain of single-input producers behind each input
                if not cur or cur in node.weights or cur in around:
                    break
                around.append(cur)
                producer = _node(node_of, cur)
                runtime = [n for n in producer.inputs if n and n not in producer.weights] if producer else []
                if len(runtime) != 1:
                    break
                cur = runtime[0]
    lacking = list(result.missing)
    if sum(sizes.get(m, 0) for m in lacking) > budget:
        lacking = lacking[-_MISSING:]
    order = list(dict.fromkeys(reference.order()))
    known = set(order)
    wanted = {row.name, first_nonfinite, *lacking, *(n for n in around if n in known)} - {""}
    names = [n for n in order if n in wanted and n not in (given or {})]
    ref = reference.run_from(feeds, given, names) if given else reference.run(feeds, names)
    got = candidate.run(feeds, list(dict.fromkeys([*around, *(absorbed.get(n, (n,))[0] for n in around)])))
    return {n: ref[n] for n in order if n in ref}, got


def _node(node_of, name: str):
    if node_of is None:
        return None
    try:
        return node_of(name)
    except Exception:  # noqa: BLE001 - a runner that cannot say
        return None
