"""Why did the first divergent tensor diverge? Hypotheses tested by recomputation.

The diagnosis looks at the first divergent tensor, the candidate's node that produced
it (``Runner.node_of``: op type, inputs, attributes, constant inputs), the node's
input values from the candidate run (which match the reference: this is the *first*
divergence) and the reference's values. Rules, registered by decorator per op type in
one module per family (normalization, preprocessing, pooling, activation, layout,
weights), propose hypotheses: "the node with eps 2e-5 instead of 1e-3", "the node fed
with the reference's ``_mulscalar0`` instead of ``data``". Each hypothesis is
recomputed in numpy (``ops.py``); the one whose recomputation reproduces the
reference to a tight tolerance (``REPRODUCES``) names the cause, with its evidence.
Before that, recomputing the node *as it stands* must reproduce the candidate's
values, or the numpy model of the op is not trusted and nothing is claimed.

When two different causes reproduce equally well, or none does, the answer is
``unknown`` with the evidence gathered: never a confident wrong cause. A rule may
also return a ``Finding``: a conclusion from structure rather than recomputation
(e.g. only some output channels of a convolution differ while its inputs match), used
when no hypothesis reproduces. Runners without ``node_of`` get the value-only rules
(``values.py``), whose sentences are hedged.

Stable cause ids (``Diagnosis.cause``, copied to ``Comparison.cause``): see ``CAUSES``.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import numpy as np

REPRODUCES = 1e-4  # max |recomputed - reference| / max|reference| for "reproduces"

CAUSES = {
    "bn_eps": "BatchNorm eps differs (PITFALL 4)",
    "bn_fix_gamma": "BatchNorm gamma copied where fix_gamma=True means 1 (PITFALL 3)",
    "channel_order": "input channel order reversed (RGB vs BGR)",
    "weights_scaled": "a layer's weights scaled by a factor (PITFALL 25)",
    "weights_channels": "the parameters of some output channels differ (PITFALL 25)",
    "act_slope": "the negative slope of PReLU/LeakyReLU differs",
    "softmax_axis": "softmax over another axis (PITFALL 12)",
    "pool_count_include_pad": "average pooling divisor: count_include_pad (PITFALL 10)",
    "pool_ceil_floor": "pooling output size: ceil vs floor (PITFALL 10/16)",
    "layout_flatten": "flatten order before a fully connected layer (PITFALL 9)",
    "preprocessing_twice": "preprocessing applied twice (PITFALL 6)",
    "preprocessing_missing": "preprocessing missing (PITFALL 6)",
    "extra_ops": "the candidate computes extra operations the reference has not",
    "missing_ops": "the candidate skips operations the reference computes",
    "nonfinite_input": "NaN/inf from upstream, in both engines, that the engines treat differently",
    "unknown": "no hypothesis reproduces the reference",
}


@dataclass
class Diagnosis:
    cause: str  # a key of CAUSES
    message: str
    evidence: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        return self.message


@dataclass
class Hypothesis:
    """A candidate cause: the node recomputed with other inputs and/or attributes."""
    cause: str
    change: str  # what differs from the candidate's node, e.g. "eps 2e-05 instead of 0.001"
    message: str  # the sentence naming the cause
    inputs: dict[int, np.ndarray] = field(default_factory=dict)  # input position -> replacement value
    attrs: dict = field(default_factory=dict)  # attribute overrides


@dataclass
class Finding:
    """A conclusion from structure rather than recomputation (used when no hypothesis reproduces)."""
    cause: str
    message: str


@dataclass
class Context:
    name: str  # the first divergent tensor (the candidate's name for it)
    ref: np.ndarray  # the reference's values
    got: np.ndarray  # the candidate's values
    node: object = None  # runtimes.NodeInfo of the candidate's producer, or None
    values: dict = field(default_factory=dict)  # the candidate's values by name (feeds included)
    ref_values: dict = field(default_factory=dict)  # the reference's values by name
    ref_ops: dict = field(default_factory=dict)  # reference tensor -> its operator
    missing: list = field(default_factory=list)  # reference tensors the candidate lacks
    node_of: Callable | None = None  # the candidate's Runner.node_of
    op: str = ""  # the candidate's operator for the tensor (Runner.op_of), for the value-only rules

    def value(self, name: str):
        if not name:
            return None
        if self.node is not None and name in self.node.weights:
            return self.node.weights[name]
        return self.values.get(name)

    def input_values(self) -> list:
        return [self.value(n) for n in self.node.inputs]

    def runtime_inputs(self) -> list[int]:
        """Positions of the node's inputs that are run-time values (not weights)."""
        return [i for i, n in enumerate(self.node.inputs) if n and n not in self.node.weights]


Rule = Callable[[Context], Iterable]
RULES: list[tuple[frozenset | None, Rule]] = []


def rule(*op_types: str):
    """Register a rule for the candidate nodes of these ONNX op types (none: every op)."""
    def register(fn: Rule) -> Rule:
        RULES.append((frozenset(op_types) or None, fn))
        return fn
    return register


def _special(a):
    return ~np.isfinite(a) | (np.abs(a) >= float(np.finfo(np.float32).max) / 2)


def mismatch(value: np.ndarray, target: np.ndarray) -> float:
    """max |value - target| / max|target| over the meaningful cells; inf when shapes or sentinels differ."""
    value, target = np.asarray(value, np.float64), np.asarray(target, np.float64)
    if value.shape != target.shape:
        squeeze = lambda s: tuple(d for d in s if d != 1)  # noqa: E731
        if value.size != target.size or squeeze(value.shape) != squeeze(target.shape):
            return float("inf")
        value = value.reshape(target.shape)
    mask = _special(value) | _special(target)
    if mask.any():
        v, t = value[mask], target[mask]
        if not np.all((v == t) | (np.isnan(v) & np.isnan(t))):
            return float("inf")
        value, target = value[~mask], target[~mask]
    if value.size == 0:
        return 0.0
    scale = max(float(np.max(np.abs(target))), 1e-12)
    return float(np.max(np.abs(value - target))) / scale


def fmt(x) -> str:
    return f"{float(x):.3g}"


def recompute(ctx: Context, h: Hypothesis | None = None) -> np.ndarray:
    from modelport.verify.diagnose.ops import OPS

    inputs = ctx.input_values()
    attrs = dict(ctx.node.attrs)
    if h is not None:
        for i, v in h.inputs.items():
            inputs[i] = v
        attrs.update(h.attrs)
    return OPS[ctx.node.op_type](inputs, attrs)


def _load_rules() -> None:
    from modelport.verify.diagnose import (activation, layout, nonfinite, normalization,  # noqa: F401
                                           pooling, preprocessing, weights)


def _node_diagnosis(ctx: Context) -> Diagnosis | None:
    from modelport.verify.diagnose.ops import OPS

    node = ctx.node
    label = f"{node.op_type} '{ctx.name}'"
    evidence: list[str] = []
    if node.op_type not in OPS:
        return None
    values = ctx.input_values()
    absent = [n for n, v in zip(node.inputs, values) if n and v is None]
    if absent:
        return Diagnosis("unknown", f"the values produced by {label} differ; its inputs "
                         f"{', '.join(absent)} were not exposed, so no hypothesis could be tested - PITFALL 24")
    for n in node.inputs:
        if n and n in ctx.ref_values and n in ctx.values and n not in node.weights:
            evidence.append(f"input '{n}' matches the reference to {mismatch(ctx.values[n], ctx.ref_values[n]):.1e}")
    try:
        as_is = recompute(ctx)
    except Exception as exc:  # noqa: BLE001 - an op configuration the numpy model does not cover
        return Diagnosis("unknown", f"the values produced by {label} differ; its configuration is beyond the "
                         f"diagnosis' numpy model ({exc}); build a one-op model of it - PITFALL 24", evidence)
    own = mismatch(as_is, ctx.got)
    if own > REPRODUCES:
        evidence.append(f"numpy recomputation of the node as it stands differs from the candidate by {own:.1e}")
        return Diagnosis("unknown", f"the values produced by {label} differ, and recomputing the node from its "
                         "inputs does not reproduce the candidate engine's own values: the engine computes the "
                         "op differently - build a one-op model of it - PITFALL 24", evidence)
    evidence.append(f"recomputing the node as it stands reproduces the candidate to {own:.1e}")
    tried: list[tuple[float, Hypothesis]] = []
    findings: list[Finding] = []
    for ops, fn in RULES:
        if ops is not None and node.op_type not in ops:
            continue
        for item in fn(ctx) or ():
            if isinstance(item, Finding):
                findings.append(item)
                continue
            try:
                err = mismatch(recompute(ctx, item), ctx.ref)
            except Exception:  # noqa: BLE001 - a hypothesis the op cannot take (shapes)
                continue
            tried.append((err, item))
    tried.sort(key=lambda t: t[0])
    best_by_cause: dict[str, tuple[float, Hypothesis]] = {}
    for err, h in tried:
        best_by_cause.setdefault(h.cause, (err, h))
    ranked = sorted(best_by_cause.values(), key=lambda t: t[0])
    hits = [(e, h) for e, h in ranked if e <= REPRODUCES]
    if hits:
        err, h = hits[0]
        rivals = [(e2, h2) for e2, h2 in hits[1:] if e2 <= max(err * 100, 1e-9)]
        proof = f"recomputing {label} with {h.change} reproduces the reference to {err:.1e}"
        if not rivals:
            return Diagnosis(h.cause, f"{h.message} ({proof})", evidence + [proof])
        others = "; ".join(f"{h2.change} ({h2.cause}) to {e2:.1e}" for e2, h2 in rivals)
        return Diagnosis("unknown", f"the values produced by {label} differ and several causes reproduce them: "
                         f"{h.change} ({h.cause}) to {err:.1e}; {others}", evidence + [proof])
    for e, h in ranked[:3]:
        evidence.append(f"{h.change} ({h.cause}) leaves {e:.1e}")
    causes = {f.cause for f in findings}
    if len(causes) == 1:
        f = findings[0]
        return Diagnosis(f.cause, f.message, evidence)
    closest = "; ".join(f"{h.change}: {e:.1e}" for e, h in ranked[:3])
    return Diagnosis("unknown", f"the values produced by {label} differ while its inputs match; no hypothesis "
                     f"reproduces the reference{' (closest: ' + closest + ')' if closest else ''}; compare this "
                     "layer's weights (modelport inspect) or build a one-op model of it - PITFALL 24/25", evidence)


def diagnose_divergence(ctx: Context) -> Diagnosis:
    """The cause of the divergence at ``ctx.name``: from the candidate's node when it is known, else from values."""
    from modelport.verify.diagnose.values import value_diagnosis

    _load_rules()
    if ctx.node is None and ctx.node_of is not None:
        try:
            ctx.node = ctx.node_of(ctx.name)
        except Exception:  # noqa: BLE001 - a runner that cannot say
            ctx.node = None
    if ctx.node is not None:
        found = _node_diagnosis(ctx)
        if found is not None:
            return found
    return value_diagnosis(ctx.ref, ctx.got, ctx.node.op_type if ctx.node is not None else ctx.op)


def diagnose(ref: np.ndarray, got: np.ndarray, op: str = "") -> str:
    """Value-only diagnosis (no node information): a hedged sentence."""
    from modelport.verify.diagnose.values import value_diagnosis

    return value_diagnosis(ref, got, op).message
