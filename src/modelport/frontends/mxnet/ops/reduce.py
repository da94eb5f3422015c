"""Reductions (sum, mean, max, min), dot and batch_dot.

Reductions: ``axis`` None or () reduces every axis (``exclude`` then changes nothing);
otherwise the listed axes (negative ones count from the end), or with ``exclude=True``
every axis not listed (none left: the input unchanged). MXNet 1.x has no 0-d arrays:
reducing every axis without ``keepdims`` gives shape (1,), ONNX gives (), so a
Reshape to [1] follows. Opset 17: ReduceSum takes the axes as an input,
ReduceMean/Max/Min as an attribute.

dot(a, b): MXNet contracts the LAST axis of a with the FIRST axis of b (tensordot, not
MatMul's batched product): out.shape = a.shape[:-1] + b.shape[1:]. transpose_a
contracts a's first axis instead (out keeps a.shape[1:]), transpose_b b's last axis
(out keeps b.shape[:-1]); when nothing is kept the output is (1,). ONNX: a and b
flattened to 2-D around the contracted axis (Flatten), Gemm(transA, transB), Reshape
to the kept dims. Two 2-D operands are a single Gemm.

batch_dot(a, b): a[..., M, K] @ b[..., K, N] over equal leading (batch) axes, each
operand's last two axes swapped first when transpose_a/_b: Transpose + MatMul.
"""
from __future__ import annotations

from modelport.frontends.mxnet.registry import mxnet_op

_REDUCE_SUM = "ReduceSum"
_REDUCERS = {"sum": _REDUCE_SUM, "mean": "ReduceMean", "max": "ReduceMax", "min": "ReduceMin"}


def _reduced_axes(ctx, rank: int) -> list[int]:
    axes = ctx.attrs.ints("axis")
    if not axes:
        return list(range(rank))
    normal = sorted({a + rank if a < 0 else a for a in axes})
    if any(a < 0 or a >= rank for a in normal):
        ctx.fail(f"axis {axes} is out of range for an input of rank {rank}")
    if ctx.attrs.bool("exclude"):
        return [a for a in range(rank) if a not in normal]
    return normal


@mxnet_op(*_REDUCERS)
def reduce(ctx):
    x = ctx.input(0)
    rank = ctx.need_rank(x)
    axes = _reduced_axes(ctx, rank)
    if not axes:
        return [x]
    keepdims = ctx.attrs.bool("keepdims")
    op_type = _REDUCERS[ctx.node.op]
    if op_type == _REDUCE_SUM:
        y = ctx.op(op_type, [x, ctx.ints(axes, "axes")], {"keepdims": int(keepdims)})
    else:
        y = ctx.op(op_type, [x], {"axes": axes, "keepdims": int(keepdims)})
    if len(axes) == rank and not keepdims:
        y = ctx.op("Reshape", [y, ctx.ints([1], "shape_1")])
    return [y]


# -- dot ---------------------------------------------------------------------------
def _dims_of(ctx, x, start: int, end: int):
    """x.shape[start:end] as an int64 vector: a constant when static, else Shape(x)."""
    dims = ctx.dims(x)[start:end]
    if all(d is not None for d in dims):
        return ctx.ints(dims, f"dims_{x.name}_{start}_{end}")
    return ctx.op("Shape", [x], {"start": start, "end": end})


@mxnet_op("dot")
def dot(ctx):
    a, b = ctx.input(0), ctx.input(1)
    ta, tb = ctx.attrs.bool("transpose_a"), ctx.attrs.bool("transpose_b")
    ra, rb = ctx.need_rank(a), ctx.need_rank(b)
    if ra == 2 and rb == 2:
        return [ctx.op("Gemm", [a, b], {"transA": int(ta), "transB": int(tb)})]
    if ra == 1 and ta:
        ctx.fail("transpose_a on a 1-D operand (MXNet refuses it too)")
    a2 = ctx.op("Flatten", [a], {"axis": 1 if ta else ra - 1})
    b2 = ctx.op("Flatten", [b], {"axis": rb - 1 if tb else 1})
    y = ctx.op("Gemm", [a2, b2], {"transA": int(ta), "transB": int(tb)})
    kept = [(a, 1, ra) if ta else (a, 0, ra - 1), (b, 0, rb - 1) if tb else (b, 1, rb)]
    parts = [_dims_of(ctx, v, s, e) for v, s, e in kept if e > s]
    if not parts:
        shape = ctx.ints([1], "shape_1")
    else:
        shape = parts[0] if len(parts) == 1 else ctx.op("Concat", parts, {"axis": 0})
    return [ctx.op("Reshape", [y, shape])]


def _swap_last_two(ctx, x, swap: bool):
    if not swap:
        return x
    rank = ctx.need_rank(x)
    return ctx.op("Transpose", [x], {"perm": list(range(rank - 2)) + [rank - 1, rank - 2]})


@mxnet_op("batch_dot")
def batch_dot(ctx):
    a, b = ctx.input(0), ctx.input(1)
    ra, rb = ctx.need_rank(a), ctx.need_rank(b)
    if ra < 3 or ra != rb:
        ctx.fail(f"batch_dot needs two operands of the same rank >= 3, got ranks {ra} and {rb}")
    a = _swap_last_two(ctx, a, ctx.attrs.bool("transpose_a"))
    b = _swap_last_two(ctx, b, ctx.attrs.bool("transpose_b"))
    return [ctx.op("MatMul", [a, b])]
