"""Shape and layout ops (axes: ONNX axis ``a >= 1`` of a batched tensor is ncnn axis ``a - 1``,
see ``registry``).

- Reshape/Squeeze/Unsqueeze/Flatten whose ncnn dims equal its input's (only the batch axis
  differs) -> nothing: the name is an alias of the input blob, or, for a graph output, the
  producing layer writes the output's name directly.
- Flatten of a global pooling's (or an InnerProduct-written 1x1 conv's) flat blob -> nothing (the name is an alias of the pooled
  blob); Flatten (to ``(1, N)``) -> Flatten (no params); other Flatten/Reshape/Squeeze/Unsqueeze
  -> Reshape [0=w 1=h 11=d 2=c] with the static output dims (-233 unset dims); a change of
  the batch axis is refused.
- Concat -> Concat [0=axis]; constant operands become MemoryData blobs.
- Softmax -> Softmax [0=axis 1=fixbug0=1] (fixbug0=1 is ncnn's marker of the correct
  axis handling on 3-D blobs; without it ncnn refuses axis != 0). LogSoftmax is Softmax
  followed by UnaryOp log (blob ``<output>_softmax``).
- Transpose -> Permute [0=order_type]; order_type is the index of the permutation (over
  the ncnn dims, outermost first) in lexicographic order: 2-D 0..1, 3-D 0..5, 4-D 0..23
  (measured on ncnn and pinned by tests). A permutation moving the batch axis is refused.
- Slice (steps 1) -> Crop [9=starts 10=ends 11=axes, arrays; ncnn axes]; static bounds
  clipped to the dims.
- Split -> Slice [0=slices (array of sizes) 1=axis].
- Pad -> Padding [0=top 1=bottom 2=left 3=right 4=type (0 constant, 1 edge, 2 reflect)
  5=value 7=front 8=behind]: the last two dims pad top/bottom and left/right (a 2-D blob:
  left/right only), the channel dim of a 3-D blob front/behind.
- Identity / Dropout left by the passes (graph outputs) -> Noop.
"""
from __future__ import annotations

import itertools

import numpy as np

from modelport.backends.ncnn.ops.pool import _inner_product_conv, only_flattened

GLOBAL_POOLS = ("GlobalAveragePool", "GlobalMaxPool")  # their ncnn blob may be flat whatever the IR dims say
from modelport.backends.ncnn.registry import attr, ncnn_op, shape_params


def _reshape(ctx, node, x, out):
    dims = ctx.dims(out)
    producer = x.producer()
    if (ctx.dims(x) == dims and producer is not None and producer.op_type not in GLOBAL_POOLS
            and ctx.const(x) is None):  # the same ncnn blob (only the batch axis differs): no layer
        if not out.is_graph_output():
            ctx.alias(out, ctx.blob(x))
            return
        if len(x.uses()) == 1 and not x.is_graph_output() and ctx.rename_blob(x, out):
            return
    ctx.layer("Reshape", [ctx.blob(x)], [out.name], shape_params(dims))


@ncnn_op("Reshape", "Squeeze", "Unsqueeze")
def reshape(ctx, node):
    out = node.outputs[0]
    _reshape(ctx, node, node.inputs[0], out)


@ncnn_op("Flatten")
def flatten(ctx, node):
    x, out = node.inputs[0], node.outputs[0]
    ctx.dims(x)
    producer = x.producer()
    flat = (producer is not None and (producer.op_type in GLOBAL_POOLS or _inner_product_conv(producer))
            and only_flattened(x))  # global pooling / a 1x1 conv as InnerProduct already wrote a flat blob
    if flat and not out.is_graph_output():
        ctx.alias(out, ctx.blob(x))
    elif flat and len(x.uses()) == 1 and not x.is_graph_output() and ctx.rename_blob(x, out):
        pass  # the producing layer writes the output's name
    elif len(ctx.dims(out)) == 1:
        ctx.layer("Flatten", [ctx.blob(x)], [out.name])
    else:
        _reshape(ctx, node, x, out)


@ncnn_op("Identity", "Dropout")
def noop(ctx, node):
    ctx.dims(node.inputs[0])
    ctx.layer("Noop", [ctx.blob(node.inputs[0])], [node.outputs[0].name])


@ncnn_op("Concat")
def concat(ctx, node):
    out = node.outputs[0]
    axis = ctx.axis(out, int(attr(node, "axis")))
    names = []
    for v in node.inputs:
        if ctx.const(v) is not None and len(ctx.const(v).shape) != len(ctx.shape(out)):
            ctx.refuse(f"constant operand '{v.name}' of another rank")
        names.append(ctx.blob(v))
    ctx.layer("Concat", names, [out.name], {0: axis})


@ncnn_op("Softmax", "LogSoftmax")
def softmax(ctx, node):
    x = node.inputs[0]
    ctx.dims(x)
    axis = ctx.axis(x, int(attr(node, "axis", -1)))
    out = node.outputs[0].name
    if node.op_type == "Softmax":
        ctx.layer("Softmax", [ctx.blob(x)], [out], {0: axis, 1: 1})
    else:
        ctx.layer("Softmax", [ctx.blob(x)], [f"{out}_softmax"], {0: axis, 1: 1})
        ctx.layer("UnaryOp", [f"{out}_softmax"], [out], {0: 8})


def order_type(perm: tuple[int, ...]) -> int:
    return sorted(itertools.permutations(range(len(perm)))).index(tuple(perm))


@ncnn_op("Transpose")
def transpose(ctx, node):
    x = node.inputs[0]
    ctx.dims(x)
    rank, off = len(ctx.shape(x)), ctx.offset(x)
    perm = [int(p) for p in attr(node, "perm", list(range(rank))[::-1])]
    if off and perm[0] != 0:
        ctx.refuse(f"perm {perm} moves the batch axis (ncnn blobs have none)")
    inner = tuple(p - off for p in perm[off:])
    if len(inner) == 1:
        ctx.layer("Noop", [ctx.blob(x)], [node.outputs[0].name])
        return
    ctx.layer("Permute", [ctx.blob(x)], [node.outputs[0].name], {0: order_type(inner)})


@ncnn_op("Slice")
def slice_(ctx, node):
    x = node.inputs[0]
    shape = ctx.shape(x)
    ctx.dims(x)
    starts = ctx.need_const(node.inputs[1], "starts").astype(np.int64).reshape(-1)
    ends = ctx.need_const(node.inputs[2], "ends").astype(np.int64).reshape(-1)
    axes = (ctx.need_const(node.inputs[3], "axes").astype(np.int64).reshape(-1)
            if len(node.inputs) > 3 and node.inputs[3] is not None else np.arange(len(starts)))
    if len(node.inputs) > 4 and node.inputs[4] is not None:
        steps = ctx.need_const(node.inputs[4], "steps").reshape(-1)
        if np.any(steps != 1):
            ctx.refuse(f"steps {steps.tolist()} (ncnn's Crop takes steps of 1)")
    rank, off = len(shape), ctx.offset(x)
    s_out, e_out, a_out = [], [], []
    for s, e, a in zip(starts.tolist(), ends.tolist(), axes.tolist()):
        a = a + rank if a < 0 else a
        d = shape[a]
        s = max(0, min(d, s + d if s < 0 else s))
        e = max(0, min(d, e + d if e < 0 else e))
        if a < off:
            if (s, e) != (0, 1):
                ctx.refuse("a slice of the batch axis")
            continue
        s_out.append(s)
        e_out.append(e)
        a_out.append(a - off)
    if not a_out:  # only the batch axis, whole: a copy
        ctx.layer("Noop", [ctx.blob(x)], [node.outputs[0].name])
        return
    ctx.layer("Crop", [ctx.blob(x)], [node.outputs[0].name], {9: s_out, 10: e_out, 11: a_out})


@ncnn_op("Split")
def split(ctx, node):
    x = node.inputs[0]
    shape = ctx.shape(x)
    ctx.dims(x)
    axis = ctx.axis(x, int(attr(node, "axis", 0)))
    a = axis + ctx.offset(x)
    sizes = [ctx.shape(o)[a] for o in node.outputs]
    if sum(sizes) != shape[a]:
        ctx.refuse("the outputs do not cover the input")
    ctx.layer("Slice", [ctx.blob(x)], [o.name for o in node.outputs], {0: sizes, 1: axis})


PAD_MODES = {"constant": 0, "edge": 1, "reflect": 2}


@ncnn_op("Pad")
def pad(ctx, node):
    x = node.inputs[0]
    dims = ctx.dims(x)
    pads = ctx.need_const(node.inputs[1], "pads").astype(np.int64).reshape(-1).tolist()
    rank, off = len(ctx.shape(x)), ctx.offset(x)
    if len(node.inputs) > 3 and node.inputs[3] is not None:
        ctx.refuse("Pad with axes")
    begin, end = pads[:rank], pads[rank:]
    if any(begin[:off]) or any(end[:off]):
        ctx.refuse("padding of the batch axis")
    if any(p < 0 for p in pads):
        ctx.refuse("negative pads (a crop)")
    mode = attr(node, "mode", "constant")
    mode = mode.decode() if isinstance(mode, bytes) else mode
    if mode not in PAD_MODES:
        ctx.refuse(f"mode '{mode}'")
    value = 0.0
    if len(node.inputs) > 2 and node.inputs[2] is not None:
        value = float(ctx.need_const(node.inputs[2], "the pad value").reshape(-1)[0])
    b, e = begin[off:], end[off:]
    if len(dims) == 1:
        params = {2: b[0], 3: e[0]}
    elif len(dims) == 2:
        params = {0: b[0], 1: e[0], 2: b[1], 3: e[1]}
    elif len(dims) == 3:
        params = {7: b[0], 8: e[0], 0: b[1], 1: e[1], 2: b[2], 3: e[2]}
    else:
        ctx.refuse("padding of a 5-D tensor")
    if mode != "constant" and (params.get(7) or params.get(8)):
        ctx.refuse(f"{mode} padding of the channel axis")
    params.update({4: PAD_MODES[mode], 5: value})
    ctx.layer("Padding", [ctx.blob(x)], [node.outputs[0].name], params)
