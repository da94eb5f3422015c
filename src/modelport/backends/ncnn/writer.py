"""Write an onnx_ir model as ncnn ``.param`` + ``.bin``.

``.param`` (text): the magic ``7767517``; ``<layer count> <blob count>``; then one line per
layer: ``Type name n_inputs n_outputs inputs... outputs... id=value...``. A value with a
``.`` or an exponent is a float, else an int; an array parameter is written
``-23300-id=n,v1,...,vn`` (key ``-(23300 + id)``).

``.bin``: the layers' weights in layer order. Weights ncnn loads with type 0
(Convolution*, Deconvolution*, InnerProduct weights) start with a 4-byte tag: 0 for
float32, ``0x01306B47`` for float16 (then the data is padded to 4 bytes); everything
else (biases, BatchNorm, PReLU, MemoryData, InstanceNorm) is raw float32 without a tag.
float16 storage is used only when asked (``fp16=True``). Planning reads no weight data
(shapes only); each weight is read, written and its pages of the weights file handed back
(``mapped.release_all``) in turn, so a conversion holds about one weight at a time.

Graph structure: one ``Input`` layer per graph input (0=w 1=h 2=c (11=d) of its static
dims); a blob read by several layers gets a ``Split`` layer whose outputs are named
``<blob>_splitncnn_<i>``, so the blob itself keeps its IR name; blob names are the IR
tensor names. The weights are computed (folded LazyTensors) one at a time as written.
"""
from __future__ import annotations

from collections import Counter
from pathlib import Path

import numpy as np
import onnx_ir as ir

from modelport.backends.ncnn import ops  # noqa: F401 - registers the emitters
from modelport.backends.ncnn.registry import EMITTERS, EmitContext, Layer, Refused
from modelport.ir.contract import PRIVATE_DOMAIN
from modelport.mapped import release_all

MAGIC = 7767517
FP16_TAG = 0x01306B47


def plan(model: ir.Model, exact: bool = False, warned: list[str] | None = None) -> tuple[list[Layer], list[str]]:
    """The ncnn layers for ``model`` and every problem (node name and reason), all at once. What
    ncnn only approximates is refused with ``exact``, else its messages go to ``warned``."""
    ctx = EmitContext(model, exact)
    graph = model.graph
    problems: dict[str, list[str]] = {}
    for value in graph.inputs:
        try:
            ctx.node = None
            if value.dtype is not None and value.dtype != ir.DataType.FLOAT:
                ctx.refuse(f"input '{value.name}' is {value.dtype.name}: ncnn inputs are float32")
            ctx.dims(value)
            # no shape params: ncnn runs measurably slower (~3% on resnet18) with them; the
            # sizes go in the target's .modelport.json instead
            ctx.layer("Input", [], [value.name])
        except Refused as exc:
            problems.setdefault(str(exc), []).append(value.name)
    if problems:  # an input without static sizes: every node would repeat it
        return [], [f"{reason}: {', '.join(names)}" for reason, names in problems.items()]
    for node in graph:
        if node.op_type == "Constant":
            continue
        label = node.name or node.outputs[0].name
        emitter = EMITTERS.get(node.op_type) if node.domain in ("", "ai.onnx", PRIVATE_DOMAIN) else None
        if emitter is None:
            problems.setdefault(f"{node.op_type} (no ncnn layer for this op)", []).append(label)
            continue
        ctx.node = node
        mark, warned_mark = len(ctx.layers), len(ctx.warnings)
        try:
            emitter(ctx, node)
        except Refused as exc:
            del ctx.layers[mark:]
            del ctx.warnings[warned_mark:]
            problems.setdefault(f"{node.op_type}: {exc}", []).append(label)
    for value in graph.outputs:
        if value.is_graph_input():
            problems.setdefault("output is an input (ncnn computes no blob for it)", []).append(value.name)
        elif ctx.const(value) is not None:  # folded at static sizes (SSD's anchors): a MemoryData blob
            try:
                ctx.dims(value)
                ctx.blob(value)
            except Refused as exc:
                problems.setdefault(f"constant output: {exc}", []).append(value.name)
    for layer in ctx.layers:
        for name in layer.inputs + layer.outputs:
            if not name or any(c.isspace() for c in name) or len(name) > 255:
                problems.setdefault("blob name empty, with white space or over 255 characters (ncnn's .param "
                                    "cannot hold it)", []).append(repr(name))
    listed = [f"{reason}: {len(names)} node(s): {', '.join(names[:8])}{' ...' if len(names) > 8 else ''}"
              for reason, names in problems.items()]
    if warned is not None:
        warned.extend(ctx.warnings)
    return _with_splits(ctx.layers), listed


def _with_splits(layers: list[Layer]) -> list[Layer]:
    """Insert a Split layer after each blob read by more than one layer input."""
    reads = Counter(name for layer in layers for name in layer.inputs)
    seen: Counter = Counter()
    out: list[Layer] = []
    splits: dict[str, list[str]] = {}
    for layer in layers:
        inputs = []
        for name in layer.inputs:
            if name in splits:
                inputs.append(splits[name][seen[name]])
                seen[name] += 1
            else:
                inputs.append(name)
        layer.inputs = inputs
        out.append(layer)
        for name in layer.outputs:
            if reads[name] > 1:
                splits[name] = [f"{name}_splitncnn_{i}" for i in range(reads[name])]
                out.append(Layer("Split", f"splitncnn_{name}", [name], splits[name]))
    return out


def _value(v) -> str:
    if isinstance(v, (bool, np.bool_)):
        return str(int(v))
    if isinstance(v, (int, np.integer)):
        return str(int(v))
    f = float(v)
    if not np.isfinite(f):
        f = np.sign(f) * 3.4028234663852886e38 if np.isinf(f) else 0.0
    text = repr(f)
    return text if ("." in text or "e" in text) else text + ".0"


def param_text(layers: list[Layer]) -> str:
    blobs = {name for layer in layers for name in layer.outputs}
    lines = [str(MAGIC), f"{len(layers)} {len(blobs)}"]
    for layer in layers:
        parts = [f"{layer.type:<16}", f"{layer.name:<24}", str(len(layer.inputs)), str(len(layer.outputs)),
                 *layer.inputs, *layer.outputs]
        for key, value in sorted(layer.params.items()):
            if isinstance(value, (list, tuple, np.ndarray)):
                parts.append(f"{-23300 - key}={len(value)}" + "".join("," + _value(x) for x in value))
            else:
                parts.append(f"{key}={_value(value)}")
        lines.append(" ".join(parts))
    return "\n".join(lines) + "\n"


def write_bin(layers: list[Layer], path: Path, fp16: bool = False) -> None:
    with open(path, "wb") as f:
        for layer in layers:
            for weight in layer.weights:
                data = weight.array()
                if weight.tagged and fp16:
                    f.write(np.uint32(FP16_TAG).tobytes())
                    raw = data.astype("<f2").tobytes()
                    f.write(raw + b"\0" * (-len(raw) % 4))
                else:
                    if weight.tagged:
                        f.write(np.uint32(0).tobytes())
                    f.write(data.astype("<f4", copy=False).tobytes())
                del data
                release_all()  # pages of the weights file this weight (or a folded one) read


def write_ncnn(model: ir.Model, param: Path, bin_: Path, fp16: bool = False, exact: bool = False) -> list[Layer]:
    import warnings

    from modelport.errors import ConversionWarning, UnsupportedOpsError

    warned: list[str] = []
    layers, problems = plan(model, exact, warned)
    if problems:
        raise UnsupportedOpsError("the ncnn target cannot take these nodes, nothing was written:\n"
                                  + "\n".join(f"  - {p}" for p in problems))
    for message in warned:
        warnings.warn(message, ConversionWarning, stacklevel=2)
    Path(param).write_text(param_text(layers))
    write_bin(layers, Path(bin_), fp16)
    return layers
