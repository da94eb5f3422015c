"""Layout: the flatten order in front of a fully connected layer (PITFALL 9)."""
from __future__ import annotations

from itertools import permutations

from modelport.verify.diagnose import Hypothesis, rule

_AXES = "CHWD"


@rule("Gemm", "MatMul")
def flatten_order(ctx):
    if ctx.node_of is None or ctx.node.op_type == "Gemm" and ctx.node.attrs.get("transA", 0):
        return
    name = ctx.node.inputs[0]
    x = ctx.value(name)
    cur, hops = name, 0
    while hops < 4:
        producer = ctx.node_of(cur)
        if producer is None or producer.op_type not in ("Flatten", "Reshape"):
            return
        cur = producer.inputs[0]
        source = ctx.value(cur)
        if source is not None and source.ndim >= 3:
            break
        hops += 1
    else:
        return
    if x is None or source is None or x.ndim != 2 or source.size != x.size or max(source.shape[2:]) == 1:
        return
    rank = source.ndim - 1
    names = _AXES[:rank]
    for perm in permutations(range(1, source.ndim)):
        if perm == tuple(range(1, source.ndim)):
            continue
        order = ", ".join(names[p - 1] for p in perm)
        yield Hypothesis("layout_flatten", f"'{cur}' flattened in ({order}) order",
                         f"flatten order: the candidate's weights at '{ctx.name}' expect '{cur}' flattened in "
                         f"({order}) order, the reference flattens ({', '.join(names)}); permute the fully "
                         "connected weights when the target stores activations in another layout - PITFALL 9",
                         inputs={0: source.transpose((0,) + perm).reshape(x.shape)})
