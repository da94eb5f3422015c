"""Shape operators: Reshape (with MXNet's special codes), transpose, SwapAxis, expand_dims, squeeze.

Reshape. MXNet walks its ``shape`` codes left to right with a cursor ``src`` into the
input dims (MXNet 1.9.1 ``InferReshapeShape``):

- ``c > 0``: output dim c (src += 1);  ``0``: copy dim[src] (src += 1);
- ``-1``: inferred, Size / product(others) (src += 1);
- ``-2``: copy dim[src:] (all remaining);  ``-3``: dim[src] * dim[src+1] (src += 2);
- ``-4, d1, d2``: split dim[src] into (d1, d2), one of them may be -1 = dim[src] / other.

``reverse=True`` runs the same walk on the reversed dims and reversed codes, then
reverses the result. Quirk kept: MXNet stores the inferred value at the *code*
index of the -1, not at its output index; these differ after a -2/-4 and then
MXNet's shape only stays consistent when the displaced dim is 1 (anything else
reads past the data, and is refused here). The legacy ``target_shape`` (used when
``shape`` is empty): 0 entries are inferred (exactly one), ``keep_highest`` replaces
entry 0 with the input's dim 0.

ONNX Reshape's own codes are 0 = copy the input dim *at the same position* and -1 =
infer (same formula). When every output dim is a constant, an inferred dim or a copy
from its own position, the converter emits one static Reshape; otherwise (copies
from other positions, -3 merges, -4 splits of symbolic dims) it builds the target
shape at run time from Shape(start, end) slices, ReduceProd and Div, so the model
keeps working at input sizes other than the convert-time one (PITFALL 11). Dims
that are static at convert time (channels) are folded to constants.

transpose: ONNX Transpose with ``perm = axes`` (empty = reversed). SwapAxis (alias
swapaxes; dim1, dim2 default 0, negative ones count from the end, as in MXNet 1.9.1):
Transpose with the identity permutation but dim1 and dim2 exchanged. expand_dims:
Unsqueeze (negative axis + rank + 1). squeeze: Squeeze with the given axes (all of
them: MXNet returns shape (1,), emitted as Reshape to [1]). With ``axis=None`` MXNet
drops the size-1 dims of the *run-time* shape, batch included, so the output rank
depends on the input size; ONNX graph outputs need a fixed rank, so this is converted
only when every input dim is static (``--static``) and refused otherwise.
(Flatten lives in dense.py.)
"""
from __future__ import annotations

import onnx_ir as ir

from modelport.frontends.mxnet.registry import mxnet_op

# A planned output dim: ("const", c) | ("dim", k) | ("prod", k1, k2) | ("div", k, c) | ("infer",)


def dims_of(ctx, value: ir.Value, start: int, end: int | None = None) -> ir.Value:
    """value.shape[start:end] as a 1-D int64 tensor: a constant when those dims are static
    (a --static conversion), else read at run time with Shape(start, end)."""
    known = ctx.dims(value)[start:end]
    if known and all(isinstance(d, int) for d in known):
        return ctx.ints(known, f"dims{start}")
    attributes = {"start": start} if end is None else {"start": start, "end": end}
    return ctx.op("Shape", [value], attributes)


def _walk(ctx, codes: list[int], dims: list[int | None], reverse: bool) -> list[tuple]:
    """MXNet's Reshape walk over codes, producing one planned entry per output dim."""
    rank = len(dims)
    src_dim = (lambda s: rank - 1 - s) if reverse else (lambda s: s)
    codes = codes[::-1] if reverse else list(codes)
    out: list[tuple] = []
    src, i, infer_at = 0, 0, None

    def take() -> int:
        nonlocal src
        if src >= rank:
            ctx.fail(f"shape {tuple(codes)} reads more dims than the input's {rank}")
        src += 1
        return src_dim(src - 1)

    while i < len(codes):
        code = codes[i]
        if code > 0:
            out.append(("const", code))
            src += 1
        elif code == 0:
            out.append(("dim", take()))
        elif code == -1:
            if infer_at is not None:
                ctx.fail("shape has more than one -1")
            infer_at = (i, len(out))
            out.append(("const", 1))  # MXNet's placeholder
            src += 1
        elif code == -2:
            while src < rank:
                out.append(("dim", take()))
        elif code == -3:
            first, second = take(), take()
            out.append(("prod", min(first, second), max(first, second)))
        elif code == -4:
            if i + 2 >= len(codes):
                ctx.fail("-4 needs two following codes")
            k, d1, d2 = take(), codes[i + 1], codes[i + 2]
            if (d1 == -1 and d2 == -1) or min(d1, d2) < -1 or 0 in (d1, d2):
                ctx.fail(f"-4 split dims ({d1}, {d2}) must be positive, one of them may be -1")
            out.append(("div", k, d2) if d1 == -1 else ("const", d1))
            out.append(("div", k, d1) if d2 == -1 else ("const", d2))
            i += 2
        else:
            ctx.fail(f"shape code {code} is not one of MXNet's (>0, 0, -1, -2, -3, -4)")
        i += 1
    if infer_at is not None:
        code_index, own = infer_at
        if code_index != own:  # MXNet writes the inferred dim at the code index
            displaced = out[code_index] if code_index < len(out) else None
            if displaced is None or _fold(displaced, dims) != ("const", 1):
                ctx.fail(f"MXNet 1.9.1 puts the inferred -1 at code index {code_index}, not at output "
                         f"index {own} (a known MXNet bug); this shape gives an inconsistent size there")
        out[code_index] = ("infer",)
    return out[::-1] if reverse else out


def _legacy_target(ctx) -> list[tuple]:
    target = list(ctx.attrs.ints("target_shape"))
    keep = ctx.attrs.bool("keep_highest")
    out = [("const", c) if c > 0 else ("infer",) for c in target]
    if keep:
        out[0] = ("dim", 0)
    if sum(e == ("infer",) for e in out[int(keep):]) > 1 or any(c < 0 for c in target):
        ctx.fail(f"target_shape {tuple(target)}: MXNet infers exactly one 0 entry and takes no negatives")
    return out


def _fold(entry: tuple, dims: list[int | None]) -> tuple:
    """Replace an entry by a constant when the input dims it reads are static (and > 0)."""
    kind, *args = entry
    known = [dims[k] for k in args[:2 if kind == "prod" else 1]] if kind in ("dim", "prod", "div") else []
    if not known or any(d is None or d <= 0 for d in known):
        return entry
    if kind == "dim":
        return ("const", known[0])
    if kind == "prod":
        return ("const", known[0] * known[1])
    if known[0] % args[1]:
        raise ValueError(f"dim {known[0]} cannot be split by {args[1]}")
    return ("const", known[0] // args[1])


def _static_code(entry: tuple, position: int) -> int | None:
    """The ONNX Reshape code for an entry, or None when it needs run-time dims."""
    if entry[0] == "const":
        return entry[1]
    if entry == ("infer",):
        return -1
    if entry[0] == "dim" and entry[1] == position:
        return 0
    return None


def _runtime_shape(ctx, data: ir.Value, plan: list[tuple]) -> ir.Value:
    pieces, codes = [], []

    def flush():
        if codes:
            pieces.append(ctx.ints(codes, f"part{len(pieces)}"))
            codes.clear()

    i = 0
    while i < len(plan):
        kind, *args = plan[i]
        code = _static_code(plan[i], i)
        if code is not None:
            codes.append(code)
        elif kind == "dim":  # a run of consecutive copied dims -> one Shape(start, end)
            end = i + 1
            while end < len(plan) and plan[end][0] == "dim" and plan[end][1] == args[0] + end - i \
                    and _static_code(plan[end], end) is None:
                end += 1
            flush()
            pieces.append(dims_of(ctx, data, args[0], args[0] + end - i))
            i = end
            continue
        elif kind == "prod":
            flush()
            pieces.append(ctx.op("ReduceProd", [dims_of(ctx, data, args[0], args[1] + 1)], {"keepdims": 1}))
        else:  # div
            flush()
            pieces.append(ctx.op("Div", [dims_of(ctx, data, args[0], args[0] + 1), ctx.ints([args[1]], "split")]))
        i += 1
    flush()
    return pieces[0] if len(pieces) == 1 else ctx.op("Concat", pieces, {"axis": 0})


@mxnet_op("Reshape")
def reshape(ctx):
    data = ctx.input(0)
    ctx.need_rank(data)
    codes = list(ctx.attrs.ints("shape"))
    if codes:
        plan = _walk(ctx, codes, ctx.dims(data), ctx.attrs.bool("reverse"))
    elif ctx.attrs.ints("target_shape"):
        plan = _legacy_target(ctx)
    else:
        ctx.fail("neither 'shape' nor 'target_shape' is given")
    try:
        plan = [_fold(e, ctx.dims(data)) for e in plan]
    except ValueError as exc:
        ctx.fail(str(exc))
    static = [_static_code(e, i) for i, e in enumerate(plan)]
    shape = ctx.ints(static, "shape") if None not in static else _runtime_shape(ctx, data, plan)
    out = ctx.op("Reshape", [data, shape])
    _note_shape(out, data, plan)
    return [out]


def _note_shape(out: ir.Value, data: ir.Value, plan: list[tuple]) -> None:
    """Shape inference cannot see through a run-time shape: add the dims the plan knows."""
    inferred = list(out.shape.dims) if out.shape is not None and len(out.shape) == len(plan) else [None] * len(plan)
    known = [e[1] if e[0] == "const" else data.shape.dims[e[1]] if e[0] == "dim" else None for e in plan]
    merged = [d if isinstance(d, int) or k is None else k for d, k in zip(inferred, known)]
    out.shape = ir.Shape([None if d is not None and not isinstance(d, int) and d.value is None else d
                          for d in merged])


@mxnet_op("transpose")
def transpose(ctx):
    data = ctx.input(0)
    rank = ctx.need_rank(data)
    axes = [a % rank for a in ctx.attrs.ints("axes")] or list(range(rank))[::-1]
    if sorted(axes) != list(range(rank)):
        ctx.fail(f"axes {ctx.attrs.ints('axes')} is not a permutation of {rank} dims")
    return [ctx.op("Transpose", [data], {"perm": axes})]


@mxnet_op("SwapAxis", "swapaxes", schema="SwapAxis")
def swap_axis(ctx):
    """y = x with axes dim1 and dim2 exchanged (equal axes: y = x), e.g. channel shuffle's
    (N, g, C/g, H, W) -> (N, C/g, g, H, W)."""
    data = ctx.input(0)
    rank = ctx.need_rank(data)
    dim1, dim2 = ctx.attrs.int("dim1"), ctx.attrs.int("dim2")
    if not (-rank <= dim1 < rank and -rank <= dim2 < rank):
        ctx.fail(f"dim1 {dim1} / dim2 {dim2} out of range for a rank-{rank} input")
    perm = list(range(rank))
    perm[dim1 % rank], perm[dim2 % rank] = perm[dim2 % rank], perm[dim1 % rank]
    return [ctx.op("Transpose", [data], {"perm": perm})]


@mxnet_op("expand_dims")
def expand_dims(ctx):
    data = ctx.input(0)
    rank = ctx.need_rank(data)
    axis = ctx.attrs.int("axis")
    if not -rank - 1 <= axis <= rank:
        ctx.fail(f"axis {axis} is out of range for a rank-{rank} input")
    return [ctx.op("Unsqueeze", [data, ctx.ints([axis % (rank + 1)], "axes")])]


@mxnet_op("squeeze")
def squeeze(ctx):
    data = ctx.input(0)
    axis = ctx.attrs.optional("axis", "ints")
    dims = ctx.dims(data)
    if axis is not None:
        rank = ctx.need_rank(data)
        axes = sorted({a % rank for a in axis})
        if any(dims[a] not in (None, 1) for a in axes):
            ctx.fail(f"axis {axis}: MXNet only squeezes size-1 dims, the input is {dims}")
        if len(axes) == rank:
            return [ctx.op("Reshape", [data, ctx.ints([1], "shape")])]
        return [ctx.op("Squeeze", [data, ctx.ints(axes, "axes")])]
    if not dims or None in dims:
        ctx.fail(f"squeeze without 'axis' on an input with run-time dims {_shown(data)}: MXNet drops "
                 "every dim that is 1 at run time (a batch of 1 too), so the output rank depends on the "
                 "input size, which ONNX cannot express; convert with static shapes (--static --input)")
    axes = [i for i, d in enumerate(dims) if d == 1]
    if len(axes) == len(dims):  # MXNet keeps one dim: shape (1,)
        return [ctx.op("Reshape", [data, ctx.ints([1], "shape")])]
    return [ctx.op("Squeeze", [data, ctx.ints(axes, "axes")])]


def _shown(value: ir.Value) -> str:
    return "(" + ", ".join(str(d) if isinstance(d, int) else str(getattr(d, "value", d) or "?")
                           for d in value.shape.dims) + ")" if value.shape is not None else "(?)"
