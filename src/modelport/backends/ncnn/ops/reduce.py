"""ReduceSum / ReduceMean / ReduceMax / ReduceMin / ReduceProd / ReduceL1 / ReduceL2 /
ReduceSumSquare / ReduceLogSumExp -> Reduction.

Reduction parameter ids: 0=operation (0 sum, 1 asum, 2 sumsq, 3 mean, 4 max, 5 min,
6 prod, 7 L1, 8 L2, 9 log-sum, 10 log-sum-exp) 1=reduce_all 2=coeff 3=axes (array)
4=keepdims 5=fixbug0. fixbug0=1 says the axes count ncnn dims (no batch axis), which is
how they are written; without it ncnn refuses axes. Reducing the batch axis is refused;
absent axes mean every axis but the batch one (the batch axis is 1, so the values
agree, and it stays, as the batch axis must).
"""
from __future__ import annotations

import numpy as np

from modelport.backends.ncnn.registry import attr, ncnn_op

OPS = {"ReduceSum": 0, "ReduceSumSquare": 2, "ReduceMean": 3, "ReduceMax": 4, "ReduceMin": 5, "ReduceProd": 6,
       "ReduceL1": 7, "ReduceL2": 8, "ReduceLogSum": 9, "ReduceLogSumExp": 10}


@ncnn_op(*OPS)
def reduce(ctx, node):
    x = node.inputs[0]
    ctx.dims(x)
    rank, off = len(ctx.shape(x)), ctx.offset(x)
    if len(node.inputs) > 1 and node.inputs[1] is not None:
        axes = ctx.need_const(node.inputs[1], "axes").astype(np.int64).reshape(-1).tolist()
    else:
        axes = attr(node, "axes", None)
    keep = int(attr(node, "keepdims", 1))
    if not axes:
        if attr(node, "noop_with_empty_axes", 0):
            ctx.refuse("noop_with_empty_axes")
        axes = list(range(off, rank))
        if not keep:
            ctx.refuse("a reduction of every axis without keepdims (the batch axis would go)")
    axes = sorted({a + rank if a < 0 else a for a in axes})
    if axes[0] < off:
        ctx.refuse("a reduction over the batch axis")
    ctx.layer("Reduction", [ctx.blob(x)], [node.outputs[0].name],
              {0: OPS[node.op_type], 1: 0, 2: 1.0, 3: [a - off for a in axes], 4: keep, 5: 1})
