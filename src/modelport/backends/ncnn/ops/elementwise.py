"""Add/Sub/Mul/Div/Max/Min/Pow -> BinaryOp [0=op_type 1=with_scalar 2=b].

op_type: 0 add, 1 sub, 2 mul, 3 div, 4 max, 5 min, 6 pow, 7 rsub, 8 rdiv, 9 rpow.
A constant operand of one value becomes ``with_scalar=1, b=value`` (``c - x`` is rsub,
``c / x`` rdiv, ``c ** x`` rpow). Any other constant becomes a MemoryData blob with the
same number of ncnn dims as the other operand (left-padded with 1s, batch axis dropped),
so ncnn's broadcast is the plain numpy one over equal ranks (ncnn gives rank-mismatched
operands its own, non-numpy meaning). Two computed operands must have the same rank.
Max/Min/Sum with more than two inputs chain BinaryOps (intermediate blobs
``<output>_<k>``).

Pow: ncnn's BinaryOp pow computes ``exp(b * log(a))``, which is wrong for ``a <= 0``
(measured: ``(-2) ** 3`` and ``0 ** 2`` give 2.4e38 where IEEE gives -8 and 0). So a
computed base is only written for exponents with an exact lowering: 1 (Noop),
2 (UnaryOp square), 3 (square, then BinaryOp mul by the base; blob ``<output>_square``),
0.5 (UnaryOp sqrt), -1 (UnaryOp reciprocal); any other exponent, or a computed one, is
refused. A constant base ``c ** x`` is written (rpow) when every ``c > 0``, where
``exp(x * log(c))`` is right.
"""
from __future__ import annotations

import numpy as np

from modelport.backends.ncnn.registry import ncnn_op

OPS = {"Add": 0, "Sub": 1, "Mul": 2, "Div": 3, "Max": 4, "Min": 5, "Pow": 6, "Sum": 0}
REVERSED = {1: 7, 3: 8, 6: 9}


def _binary(ctx, node, op: int, a, b, out: str):
    ca, cb = ctx.const(a), ctx.const(b)
    if ca is not None and cb is not None:
        ctx.refuse("both operands are constants (constant folding should have removed it)")
    if ca is not None:  # constant first: swap
        if op in (1, 3, 6):
            op = REVERSED[op]
        a, b, ca, cb = b, a, cb, ca
    dims = ctx.dims(a)
    if cb is not None:
        if cb.size == 1:
            ctx.layer("BinaryOp", [ctx.blob(a)], [out], {0: op, 1: 1, 2: float(cb.reshape(-1)[0])})
            return
        rank, off = len(ctx.shape(a)), ctx.offset(a)
        if cb.ndim > rank:
            ctx.refuse(f"constant '{b.name}' has more dims than '{a.name}'")
        full = (1,) * (rank - cb.ndim) + cb.shape
        if any(d != 1 for d in full[:off]):
            ctx.refuse(f"constant '{b.name}' varies over the batch axis")
        if any(c not in (1, d) for c, d in zip(full[off:], dims)):
            ctx.refuse(f"constant '{b.name}' of shape {cb.shape} would broadcast '{a.name}' "
                       f"{ctx.shape(a)} to another shape")
        name = b.name
        if name not in ctx.memory:
            ctx.memory_data(name, cb.astype(np.float32).reshape(full[off:]))
        ctx.layer("BinaryOp", [ctx.blob(a), name], [out], {0: op, 1: 0})
        return
    db = ctx.dims(b)
    if len(db) != len(dims):
        ctx.refuse(f"operands of different ranks ({ctx.shape(a)} and {ctx.shape(b)}): ncnn broadcasts those "
                   "its own way")
    ctx.layer("BinaryOp", [ctx.blob(a), ctx.blob(b)], [out], {0: op, 1: 0})


POW_LOWERINGS = {1.0: [], 2.0: [4], 3.0: [4, "mul"], 0.5: [5], -1.0: [15]}  # UnaryOp codes


def _pow(ctx, node):
    base, exponent = node.inputs[0], node.inputs[1]
    out = node.outputs[0].name
    cb, ce = ctx.const(base), ctx.const(exponent)
    if cb is not None:
        if ce is None and np.all(cb > 0):
            _binary(ctx, node, OPS["Pow"], base, exponent, out)
            return
        ctx.refuse("a constant base that is not > 0 (ncnn's pow is exp(b*log(a)), wrong for a <= 0)")
    if ce is None or ce.size != 1 or float(ce.reshape(-1)[0]) not in POW_LOWERINGS:
        ctx.refuse("an exponent other than a constant 1, 2, 3, 0.5 or -1 (ncnn's pow is exp(b*log(a)), "
                   "wrong for a <= 0)")
    steps = POW_LOWERINGS[float(ce.reshape(-1)[0])]
    ctx.dims(base)
    src = ctx.blob(base)
    if not steps:
        ctx.layer("Noop", [src], [out])
    elif steps == [4, "mul"]:
        ctx.layer("UnaryOp", [src], [f"{out}_square"], {0: 4})
        ctx.layer("BinaryOp", [f"{out}_square", src], [out], {0: 2, 1: 0})
    else:
        ctx.layer("UnaryOp", [src], [out], {0: steps[0]})


@ncnn_op(*OPS)
def binary(ctx, node):
    if node.op_type == "Pow":
        _pow(ctx, node)
        return
    op = OPS[node.op_type]
    inputs = [v for v in node.inputs if v is not None]
    out = node.outputs[0].name
    if len(inputs) == 1:
        ctx.refuse("a single operand (an identity)")
    acc = inputs[0]
    for k, other in enumerate(inputs[1:], 1):
        name = out if k == len(inputs) - 1 else f"{out}_{k}"
        _binary(ctx, node, op, acc, other, name)
        acc = _Named(name, node.outputs[0])


class _Named:
    """An intermediate blob of a chained BinaryOp: same shape as the node's output."""

    def __init__(self, name, like):
        self.name, self.shape = name, like.shape
        self.const_value = None

    def is_graph_input(self):
        return False
