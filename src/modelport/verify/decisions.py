"""Decisions the two engines may take either way, and the reference continued from the candidate's.

Some operators decide rather than compute: a comparison turns values into 0 or 1, NMS keeps
one of two overlapping boxes, a sort ranks two scores. Where their inputs agree only to float32
rounding, a value within that rounding of the decision boundary may be decided the other way by
the candidate. The tensor is then *equivalent*, not equal, and everything computed from it
differs legitimately: cell by cell, by whole values, beyond any tolerance.

Rule 1, a threshold flip. A comparison's output (``x > s``, ``x >= y``... as ``DECISIONS``
lists them, 1 or 0 per cell) that differs from the reference only in cells where
``|x - s|`` (``|x - y|``) is within the tolerance its inputs were accepted with,
``max(rel_tol * max|x|, abs_tol)`` (plus y's own for two tensors), and where the candidate's
cell is the comparison of its own inputs (when it exposes them), is accepted, with a note of
how many cells flipped and how close they were. A wrong comparison (``>=`` for ``>``, another
threshold) flips cells whose inputs the candidate itself decides otherwise, or cells far from
the boundary: not accepted.

Rule 2, continuation. From a tensor accepted as such a decision (rule 1, or detections matched
with near ties or in another order: ``TensorResult.decided``), the reference engine runs again
with the candidate's value given in place of its own (``Runner.run_from``), and every tensor
after it is compared with what the reference computes from the same decision: as strictly as
before, cell by cell. Each point is named in the report's notes; at most ``MAX_GIVEN`` per run.
A reference that cannot take a value as given (no ``run_from``, a value of another shape) is
compared without continuing, as before.

Rule 4, a node on the candidate's inputs. NMS decides a cascade: where one of two
overlapping boxes with near-equal scores survives, the boxes each of them would suppress
differ too, so rows differ beyond pairs of ties. And a node that only moves values
(``MOVES``: a slice, a reshape, a concat...) adds no rounding of its own, yet a slice of an
accepted tensor can miss the tolerance, which is relative to its own (smaller) largest value,
by the error it inherits. When a detection output, a decision (rules 1, 3) or such a mover
diverges although every tensor its node reads matched, the reference engine runs that node
again on the candidate's values of those inputs (given as in rule 2); if its result then
matches the candidate's, the node computes the same thing and the difference was its inputs'
float32 noise: accepted, the inputs named in the notes, and the comparison goes on from
there. Otherwise nothing is given and the divergence stands. Nodes that compute (a
convolution) are never excused this way: their accumulated error is the float64 check's.

Rule 3, a ranking tie. Sort indices (``argsort``, ``topk`` giving indices, as ``RANKINGS``
lists them) that differ from the reference's are accepted when they are distinct valid
positions and the values they pick from the reference's own input equal the values the
reference's indices pick, each within that input's tolerance: equal values ranked the other
way (a sort's order among ties is the engine's). They are decided tensors (rule 2).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from modelport.errors import VerificationError
from modelport.verify.compare import Comparison, Known, compare_rechecked, special

MAX_GIVEN = 8

_NUMPY = {"greater": np.greater, "greater_equal": np.greater_equal, "lesser": np.less,
          "lesser_equal": np.less_equal, "equal": np.equal, "not_equal": np.not_equal}
# (engine, operator) -> (numpy decision, whether the right operand is the node's ``scalar`` attribute)
DECISIONS = {
    **{("mxnet", f"_{name}_scalar"): (fn, True) for name, fn in _NUMPY.items()},
    **{("mxnet", f"broadcast_{name}"): (fn, False) for name, fn in _NUMPY.items()},
    **{("mxnet", f"_{name}"): (fn, False) for name, fn in _NUMPY.items()},
}


# engine -> operators that only move, select or repeat values (rule 4), by the reference's op names
MOVES = {"mxnet": frozenset({
    "slice_axis", "slice", "_slice", "crop", "Crop", "slice_like", "Reshape", "reshape", "reshape_like",
    "Flatten", "flatten", "expand_dims", "squeeze", "transpose", "SwapAxis", "swapaxes", "Concat", "concat",
    "stack", "SliceChannel", "split", "_split_v2", "where", "take", "pick", "gather_nd", "tile", "repeat",
    "reverse", "flip", "broadcast_to", "broadcast_like", "broadcast_axis", "broadcast_axes", "_copy", "identity",
    "BlockGrad", "stop_gradient"})}
# (engine, operator) -> the operator's name in MXNet's attribute table (its axis attribute's default)
RANKINGS = {("mxnet", "argsort"): "argsort", ("mxnet", "topk"): "topk"}


@dataclass
class Decision:
    decide: object  # numpy ufunc of (x, y); None for a ranking
    inputs: list[str]  # the reference tensors x (and y)
    scalar: float | None = None
    axis: int | None = -1  # a ranking's axis (None: the flattened input)


def decisions_of(reference, ref_ops: dict[str, str], edges: dict[str, list[str]]) -> dict[str, Decision]:
    """The reference's comparison tensors with what they compare (from its ops, edges and attributes)."""
    attrs = reference.node_attrs() if hasattr(reference, "node_attrs") else {}
    out = {}
    for name, op in ref_ops.items():
        reads = edges.get(name, [])
        if (reference.name, op) in RANKINGS:
            ranking = None if name.endswith("_output0") else _ranking(RANKINGS[reference.name, op], name,
                                                                       attrs.get(name, {}))
            tensor = name + ranking[1] if ranking is not None else ""
            if ranking is not None and len(edges.get(tensor, [])) == 1:
                out[tensor] = Decision(None, list(edges[tensor]), None, ranking[0])
            continue
        how = DECISIONS.get((reference.name, op))
        if how is None or len(reads) != (1 if how[1] else 2):
            continue
        try:
            scalar = float(attrs.get(name, {}).get("scalar", "nan")) if how[1] else None
        except ValueError:
            continue
        if scalar is None or np.isfinite(scalar):
            out[name] = Decision(how[0], list(reads), scalar)
    return out


def _ranking(op: str, name: str, raw: dict[str, str]):
    """(axis, the suffix of the node's indices tensor) of a ranking node that gives indices ("" for its only
    output, "_output1" for topk's ret_typ='both'), None otherwise (topk giving values or a mask)."""
    from modelport.errors import ConversionError
    from modelport.frontends.mxnet.attrs import Attrs

    try:
        a = Attrs(op, name, raw)
        kind = a.str("ret_typ") if op == "topk" else "indices"
        if kind not in ("indices", "both"):
            return None
        return a.optional("axis", "int"), "_output1" if kind == "both" else ""
    except ConversionError:
        return None


def rank_tie(decision: Decision, name: str, ref: dict, got: dict, survivor: str, tol) -> str:
    """Rule 3's note for ``name`` when its indices rank equal values the other way, else ""."""
    r, g, x = ref.get(name), got.get(survivor), ref.get(decision.inputs[0])
    if r is None or g is None or x is None or g.size != r.size:
        return ""
    axis = decision.axis
    g = g.reshape(r.shape)
    if axis is None:
        x, r, g, axis = x.ravel(), r.ravel(), g.ravel(), 0
    if r.ndim != x.ndim or not np.array_equal(np.round(g), g) or g.min(initial=0) < 0 \
            or g.max(initial=0) >= x.shape[axis]:
        return ""
    ri, gi = r.astype(np.int64), g.astype(np.int64)
    ordered = np.sort(gi, axis=axis)
    if (np.diff(ordered, axis=axis) == 0).any():
        return ""  # a position taken twice: not a ranking
    picked = lambda i: np.take_along_axis(np.asarray(x, np.float64), i, axis)  # noqa: E731
    allowance = _allowance(x, tol)
    gap = np.abs(picked(ri) - picked(gi))
    if not (gap <= allowance).all():
        return ""
    n = int(np.count_nonzero(ri != gi))
    return (f"{n} position{'s' if n != 1 else ''} rank values of '{decision.inputs[0]}' the other way: "
            f"the values picked agree within {float(gap.max()):.2g} (tolerance {allowance:.2g})")


def _allowance(a: np.ndarray, tol) -> float:
    finite = np.asarray(a, np.float64)[~special(np.asarray(a))] if np.asarray(a).size else np.zeros(0)
    return max(tol.rel_tol * (float(np.abs(finite).max()) if finite.size else 0.0), tol.abs_tol)


def threshold_flip(decision: Decision, name: str, ref: dict, got: dict, survivor: str, tol) -> str:
    """Rule 1's note for ``name`` when its differing cells are flips at the boundary, else ""."""
    r, g = ref.get(name), got.get(survivor)
    operands = [ref.get(n) for n in decision.inputs]
    if r is None or g is None or g.size != r.size or any(o is None for o in operands):
        return ""
    g = g.reshape(r.shape)
    flipped = r != g
    if not flipped.any() or not np.isin(g[flipped], (0, 1)).all():
        return ""
    x = operands[0]
    y = operands[1] if decision.scalar is None else np.float64(decision.scalar)
    allowance = _allowance(x, tol) + (_allowance(y, tol) if decision.scalar is None else 0.0)
    try:
        gap = np.broadcast_to(np.abs(np.asarray(x, np.float64) - np.asarray(y, np.float64)), r.shape)
    except ValueError:
        return ""
    if not (gap[flipped] <= allowance).all():
        return ""
    own = [got.get(n) for n in decision.inputs]
    if all(o is not None for o in own[: len(decision.inputs)]):
        mine = decision.decide(own[0], own[1] if decision.scalar is None else decision.scalar)
        try:
            if not (np.broadcast_to(mine, r.shape)[flipped] == g[flipped].astype(bool)).all():
                return ""
        except ValueError:
            return ""
    n = int(np.count_nonzero(flipped))
    against = f"the threshold {decision.scalar:g}" if decision.scalar is not None else f"'{decision.inputs[1]}'"
    return (f"{n} cell{'s' if n != 1 else ''} decided the other way at {against}: there '{decision.inputs[0]}' "
            f"is within {float(gap[flipped].max()):.2g} of it (tolerance {allowance:.2g})")


def explainer(decisions: dict[str, Decision], tol):
    """``compare``'s ``explain`` for these decisions (None when there are none)."""
    if not decisions:
        return None
    def explain(name, ref, got, survivor) -> str:
        decision = decisions.get(name)
        if decision is None:
            return ""
        rule = threshold_flip if decision.decide is not None else rank_tie
        return rule(decision, name, ref, got, survivor, tol)
    return explain


class Given(dict):
    """Tensor name -> the value the reference took as given; ``why[name]``: the reason, for the notes."""

    def __init__(self):
        super().__init__()
        self.why: dict[str, str] = {}


def _retry_on_inputs(bad, ref: dict, got: dict, order, heads, tol, known: Known, float64, run_from,
                     given: Given):
    """Rule 4 for the divergent row ``bad``: the reference's values with its inputs given (filled into
    ``given``) when the reference's node, run on the candidate's values of its inputs, gives the
    candidate's result; else None (nothing given)."""
    if bad is None or run_from is None or bad.name not in known.retry:
        return None
    inputs = [n for n in known.edges.get(bad.name, []) if n not in given]
    values = {}
    for name in inputs:
        value = _as_reference(got, ref, name, known)
        if value is None:
            return None
        values[name] = value
    if not values:
        return None
    trial = {**given, **values}
    try:
        fresh = run_from(trial, _not_given(order, ref, trial))
    except VerificationError:
        return None
    trial_ref = {**ref, **fresh}
    result = compare_rechecked(trial_ref, got, order, heads, tol, False, known, lambda names: float64(names, trial))
    row = next((r for r in result.rows if r.name == bad.name), None)
    if row is None or not row.ok:
        return None
    for name, value in values.items():
        given[name] = value
        _say(given, name, f"an input of '{bad.name}': the reference's node on the candidate's inputs gives the "
                          "candidate's result, its inputs' float32 noise decided it")
    return trial_ref


def _as_reference(got: dict, ref: dict, name: str, known: Known):
    """The candidate's value of ``name`` in the reference's shape and type, None where it has none to give."""
    value = got.get(known.absorbed.get(name, (name,))[0])
    if value is None or name not in ref or value.size != ref[name].size:
        return None
    return value.reshape(ref[name].shape).astype(ref[name].dtype)


def _not_given(order: list[str], ref: dict, given: dict) -> list[str]:
    return [n for n in dict.fromkeys(order) if n in ref and n not in given]


def _say(given: dict, name: str, why: str) -> None:
    if isinstance(given, Given):
        given.why[name] = why


def readers_of(edges: dict[str, list[str]]) -> dict[str, list[str]]:
    """The graph's edges (tensor -> the tensors its node reads) the other way: tensor -> its readers."""
    readers: dict[str, list[str]] = {}
    for tensor, reads in edges.items():
        for source in reads:
            readers.setdefault(source, []).append(tensor)
    return readers


class _Float64Memo:
    """``float64(names, given)`` remembered across the rounds of ``compare_continued`` (each float64 run of a
    large model takes minutes): a value computed with some tensors given stays valid for another set
    of given tensors unless it lies downstream (``edges``) of one in only one of the two sets."""

    def __init__(self, float64, edges: dict[str, list[str]]):
        self.float64, self.memo = float64, {}  # name -> (value or None, the given names it was computed with)
        self.readers = readers_of(edges)
        self.after: dict[str, set[str]] = {}

    def _downstream(self, point: str) -> set[str]:
        if point not in self.after:
            seen, stack = set(), [point]
            while stack:
                for reader in self.readers.get(stack.pop(), []):
                    if reader not in seen:
                        seen.add(reader)
                        stack.append(reader)
            self.after[point] = seen
        return self.after[point]

    def __call__(self, names: list[str], given: dict) -> dict:
        now = frozenset(given)
        def fresh(n: str) -> bool:
            if n not in self.memo:
                return False
            changed = self.memo[n][1] ^ now
            return not changed or (bool(self.readers) and not any(n in self._downstream(p) for p in changed))

        wanted = [n for n in names if not fresh(n)]
        if wanted:
            values = self.float64(wanted, dict(given))
            self.memo.update({n: (values.get(n), now) for n in wanted})
        return {n: self.memo[n][0] for n in names if self.memo[n][0] is not None}


def compare_continued(ref: dict, got: dict, order: list[str], heads: list[str], tol, stop_at_first: bool,
                      known: Known, float64, run_from, given: dict) -> tuple[Comparison, dict]:
    """``compare_rechecked`` with rule 2: while a decided tensor is not yet given (and fewer than
    MAX_GIVEN are), ``run_from(given, names)`` recomputes the reference's tensors after it from the
    candidate's value, and all is compared again. ``given`` (name -> the value given) is filled in
    place; ``float64(names, given)`` the float64 truth of the same continued run. Returns the
    comparison and the reference's values it was made with."""
    refused: set[str] = set()
    float64 = _Float64Memo(float64, known.edges)
    while True:
        result = compare_rechecked(ref, got, order, heads, tol, stop_at_first, known,
                                   lambda names: float64(names, dict(given)))
        point = next((r.name for r in result.rows if r.decided and r.name not in given and r.name not in refused),
                     None) if run_from is not None and len(given) < MAX_GIVEN else None
        if point is None:
            bad = result.first_divergence
            retried = None if bad is None or bad.name in refused or len(given) >= MAX_GIVEN else \
                _retry_on_inputs(bad, ref, got, order, heads, tol, known, float64, run_from, given)
            if retried is None:
                return result, ref
            refused.add(bad.name)  # once: the next divergence, if any, stands
            ref = retried
            continue
        value = _as_reference(got, ref, point, known)
        if value is None:
            refused.add(point)
            continue
        given[point] = value
        _say(given, point, next((r.note for r in result.rows if r.name == point), "") or "a decision")
        try:
            fresh = run_from(dict(given), _not_given(order, ref, given))
        except VerificationError:
            del given[point]
            refused.add(point)
            continue
        ref = {**ref, **fresh}


def note(given: dict) -> str:
    """The report's note naming where the reference continued from the candidate's values."""
    why = getattr(given, "why", {})
    return "; ".join(f"the reference continued from the candidate's '{name}' ({why.get(name, 'a decision')})"
                     for name in given)
