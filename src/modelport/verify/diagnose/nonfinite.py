"""Non-finite values from upstream: NaN/inf that both engines carry into a node, which treats them differently.

A tensor can hold NaN or inf in both engines alike (a BatchNorm whose moving variance + eps
is negative gives NaN in those channels, in MXNet and in ONNX alike) and still compare
equal: special cells must only be identical. The first node whose engines disagree on
such cells is then reported as the divergence, though the conversion computes the same
op: engines differ in what an op makes of NaN (MXNet's float32 ReLU, through oneDNN,
gives 0 for NaN; ONNX Relu, numpy and MXNet's own float64 run keep NaN). The cause is
upstream, in the values, not in the node: this rule says so and names the first tensor
that holds NaN/inf in the reference run.
"""
from __future__ import annotations

import numpy as np

from modelport.verify.diagnose import Finding, rule


def _nonfinite(a) -> np.ndarray | None:
    a = np.asarray(a)
    return ~np.isfinite(a) if np.issubdtype(a.dtype, np.floating) else None


def _first_nonfinite(values: dict) -> str:
    for name, v in values.items():  # the reference's tensors, in its execution order
        bad = _nonfinite(v) if isinstance(v, np.ndarray) else None
        if bad is not None and bad.any():
            return name
    return ""


@rule()
def nonfinite_input(ctx):
    ref, got = np.asarray(ctx.ref), np.asarray(ctx.got)
    if ref.shape != got.shape or _nonfinite(ref) is None or _nonfinite(got) is None:
        return
    carried = []  # (input, its non-finite cells), the same cells in the reference where it has the input
    for i in ctx.runtime_inputs():
        name = ctx.node.inputs[i]
        bad = _nonfinite(ctx.value(name)) if ctx.value(name) is not None else None
        if bad is None or not bad.any():
            continue
        theirs = ctx.ref_values.get(name)
        if theirs is not None and (np.shape(theirs) != bad.shape or not np.array_equal(_nonfinite(theirs), bad)):
            continue  # the input's NaN/inf differ already: not this node's doing
        carried.append((name, int(np.count_nonzero(bad))))
    if not carried:
        return
    ref_bad, got_bad = _nonfinite(ref), _nonfinite(got)
    only_got, only_ref = int(np.count_nonzero(got_bad & ~ref_bad)), int(np.count_nonzero(ref_bad & ~got_bad))
    if not only_got and not only_ref:
        return
    inputs = ", ".join(f"'{n}' ({k} cell{'s' if k > 1 else ''})" for n, k in carried)
    sides = []
    if only_got:
        plural = "s" if only_got > 1 else ""
        sides.append(f"{only_got} cell{plural} finite in the reference are NaN/inf in the candidate")
    if only_ref:
        sides.append(f"{only_ref} NaN/inf in the reference are finite in the candidate")
    origin = _first_nonfinite(ctx.ref_values)
    start = f"; the reference's first tensor with NaN/inf is '{origin}'" if origin else ""
    yield Finding("nonfinite_input",
                  f"the input {inputs} of {ctx.node.op_type} '{ctx.name}' already holds NaN/inf in both engines, "
                  f"which treat them differently here: {' and '.join(sides)} (MXNet's float32 ReLU gives 0 for NaN, "
                  f"ONNX Relu keeps it). The values are meaningless, not the conversion wrong: find where the NaN/inf "
                  f"start{start} (a BatchNorm with moving variance + eps < 0, a log or sqrt of a negative, 0/0)")
