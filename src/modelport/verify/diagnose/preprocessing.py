"""Preprocessing: applied twice, missing, channel order reversed (RGB vs BGR) (PITFALL 6).

Twice / extra: the node's input is a value only the candidate computes; walking up
through such values (elementwise arithmetic with constants) reaches one both sides
have, or the graph input: the node recomputed on that value reproduces the reference.
Missing: the reference computes tensors the candidate lacks; the node recomputed on
one of them (same shape) instead of its own input reproduces the reference.
"""
from __future__ import annotations

import numpy as np

from modelport.verify.diagnose import Hypothesis, rule

ARITH = {"Sub", "Mul", "Add", "Div"}
# preprocessing operators, MXNet's and ONNX's names
PRE_OPS = {"_minus_scalar", "_mul_scalar", "_div_scalar", "_plus_scalar", "_rminus_scalar", "_rdiv_scalar",
           "broadcast_sub", "broadcast_mul", "broadcast_div", "broadcast_add", "broadcast_minus", "broadcast_plus",
           "elemwise_sub", "elemwise_mul", "elemwise_div", "elemwise_add"} | ARITH
_MAX_SUBSTITUTES = 24


def _describe(node) -> str:
    consts = list(node.weights.values())
    if consts and consts[0].size == 1:
        return f"{node.op_type} {float(consts[0].ravel()[0]):.6g}"
    shown = "a constant" if consts else "a value"
    return f"{node.op_type} {shown}"


@rule()
def extra_operations(ctx):
    if ctx.node_of is None:
        return
    for i in ctx.runtime_inputs():
        name = ctx.node.inputs[i]
        if name in ctx.ref_values:
            continue
        chain, cur = [], name
        while cur not in ctx.ref_values:
            producer = ctx.node_of(cur)
            if producer is None:
                break  # a graph input
            runtime = [n for n in producer.inputs if n and n not in producer.weights]
            if producer.op_type not in ARITH or len(runtime) != 1 or len(chain) > 8:
                chain = []
                break
            chain.append(producer)
            cur = runtime[0]
        if not chain or cur not in ctx.values:
            continue
        scalar_consts = all(v.size <= 4 for p in chain for v in p.weights.values()) and all(p.weights for p in chain)
        steps = ", ".join(_describe(p) for p in reversed(chain))
        at_input = ctx.node_of(cur) is None
        before_pre = at_input or ctx.ref_ops.get(cur, "") in PRE_OPS
        if scalar_consts and (before_pre and (ctx.node.op_type in ARITH or at_input)):
            yield Hypothesis("preprocessing_twice", f"its input '{cur}' instead of '{name}' (skipping {steps})",
                             f"preprocessing applied twice: the candidate applies {steps} to '{cur}' before the "
                             f"model's own preprocessing at '{ctx.name}'; feed raw input, or drop one copy - PITFALL 6",
                             inputs={i: ctx.values[cur]})
        else:
            yield Hypothesis("extra_ops", f"its input '{cur}' instead of '{name}' (skipping {steps})",
                             f"the candidate computes {steps} between '{cur}' and '{ctx.name}', which the reference "
                             "does not", inputs={i: ctx.values[cur]})


@rule()
def skipped_operations(ctx):
    if not ctx.missing:
        return
    for i in ctx.runtime_inputs():
        value = ctx.value(ctx.node.inputs[i])
        if value is None:
            continue
        for m in [m for m in ctx.missing if m in ctx.ref_values][-_MAX_SUBSTITUTES:]:
            ref_value = ctx.ref_values[m]
            if ref_value.shape != value.shape:
                continue
            op = ctx.ref_ops.get(m, "")
            skipped = [f"{t} ({ctx.ref_ops.get(t, '?')})" for t in ctx.missing if t in ctx.ref_values]
            if op in PRE_OPS:
                pre = [s for t, s in zip([t for t in ctx.missing if t in ctx.ref_values], skipped)
                       if ctx.ref_ops.get(t, "") in PRE_OPS]
                yield Hypothesis("preprocessing_missing", f"the reference's '{m}' instead of '{ctx.node.inputs[i]}'",
                                 f"preprocessing missing: the reference computes {', '.join(pre)} before "
                                 f"'{ctx.name}', the candidate feeds '{ctx.node.inputs[i]}' directly; keep the "
                                 "preprocessing (or say the input now expects preprocessed pixels) - PITFALL 6",
                                 inputs={i: ref_value})
            else:
                yield Hypothesis("missing_ops", f"the reference's '{m}' instead of '{ctx.node.inputs[i]}'",
                                 f"the candidate skips the reference's '{m}' ({op}) before '{ctx.name}'",
                                 inputs={i: ref_value})


@rule("Conv")
def channel_order(ctx):
    w = ctx.value(ctx.node.inputs[1])
    if w is None or w.ndim != 4 or int(ctx.node.attrs.get("group", 1)) != 1 or w.shape[1] < 2:
        return
    rgb = " (RGB vs BGR)" if w.shape[1] == 3 else ""
    yield Hypothesis("channel_order", "its input channels in reverse order",
                     f"input channel order reversed{rgb} at '{ctx.name}': the candidate's weights expect the channels "
                     "in the other order; swap the first convolution's input channels or the image's",
                     inputs={1: np.ascontiguousarray(w[:, ::-1])})
