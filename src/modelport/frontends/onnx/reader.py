"""Read an ``.onnx`` file safely and bring it to modelport's opset.

- Parsed without its external data first; every external-data location must be a
  relative path that stays inside the model's folder (no ``..``, no absolute paths),
  name an existing file, lie within it (offset + length <= file size) and hold exactly
  the bytes the tensor's dims and type need, before any of it is read.
- Old exporters list initializers as graph inputs too: those are weights.
- Opsets other than ``OPSET`` go through onnx's version converter; when it cannot
  convert, the message names the opsets and what it said.
- Upsample and Resize before opset 11 compute ``x_original = x_resized / scale`` and,
  in ``nearest`` mode, round down (onnxruntime rounds up when a Resize-10 shrinks).
  The converter's Resize 10 -> 11 adapter sets neither attribute (onnx/onnx#8480), so
  the opset-11 defaults (``half_pixel``, ``round_prefer_floor``) would silently change
  the result: they are set to ``asymmetric`` and ``floor``/``ceil`` after the upgrade.
- PRelu before opset 7 applies a slope of C values per channel (axis 1); from opset 7 on
  the slope broadcasts from the last axis, and the converter keeps the (C,) slope, so it
  would meet W instead of C: such a slope is given the shape (C, 1, ..., 1) first.
"""
from __future__ import annotations

from pathlib import Path

import onnx

from modelport.errors import ModelFileError
from modelport.ir.contract import IR_VERSION, OPSET


def _external_ok(tensor: onnx.TensorProto, name: str, folder: Path, path: Path) -> None:
    info = {e.key: e.value for e in tensor.external_data}
    location = info.get("location", "")
    if not isinstance(location, str) or "\0" in location or not isinstance(name, str):
        raise ModelFileError(f"{path}: tensor {name!r}: its external-data location is not a valid file name")
    target = (folder / location).resolve()
    if not location or Path(location).is_absolute() or folder.resolve() not in target.parents:
        raise ModelFileError(f"{path}: tensor '{name}' keeps its data at '{location}', outside the "
                             "model's folder; modelport reads external data only from files beside the model")
    if not target.is_file():
        raise ModelFileError(f"{path}: tensor '{name}': external data file {target} not found")
    try:
        offset, length = int(info.get("offset", 0)), int(info.get("length", -1))
    except ValueError:
        raise ModelFileError(f"{path}: tensor '{name}': malformed external data offset/length") from None
    if "length" in info and length < 0:
        raise ModelFileError(f"{path}: tensor '{name}': negative external data length {length}")
    size = target.stat().st_size
    if offset < 0 or offset > size or (length >= 0 and offset + length > size):
        span = f"{offset}+{length} bytes" if length >= 0 else f"from byte {offset}"
        raise ModelFileError(f"{path}: tensor '{name}': external data ({span}) "
                             f"lies beyond the end of {target.name} ({size} bytes)")
    need = _nbytes(tensor)
    have = length if length >= 0 else size - offset  # onnx reads to the end of the file without a length
    if need is not None and have != need:
        raise ModelFileError(f"{path}: tensor '{name}': external data in {target.name} holds {have} bytes "
                             f"from byte {offset}, its dims {list(tensor.dims)} need {need}")


def _nbytes(tensor: onnx.TensorProto) -> int | None:
    """The bytes a tensor's raw data must have (None for strings and unknown types)."""
    import math

    import onnx_ir as ir

    try:
        bits = ir.DataType(tensor.data_type).bitwidth
    except (TypeError, ValueError):
        return None
    return (math.prod(tensor.dims) * bits + 7) // 8


def _tensors(graph: onnx.GraphProto):
    """(name for messages, tensor) of every tensor: initializers, and node attributes (whose
    tensors are usually unnamed: named by the node's first output)."""
    yield from ((t.name, t) for t in graph.initializer)
    for node in graph.node:
        for attr in node.attribute:
            label = lambda t: t.name or (node.output[0] if node.output else node.name)  # noqa: E731
            if attr.HasField("t"):
                yield label(attr.t), attr.t
            yield from ((label(t), t) for t in attr.tensors)
            for sub in ([attr.g] if attr.HasField("g") else []) + list(attr.graphs):
                yield from _tensors(sub)


def read_onnx(path: Path) -> onnx.ModelProto:
    """Parse ``path`` (external data confined to its folder); a ModelFileError for anything else."""
    try:
        proto = onnx.load(str(path), load_external_data=False)
    except Exception as exc:  # noqa: BLE001 - protobuf raises DecodeError and friends
        raise ModelFileError(f"{path}: not an ONNX model (the protobuf does not parse: "
                             f"{type(exc).__name__}); truncated or another file type?") from None
    if not proto.graph.node and not proto.graph.output:
        raise ModelFileError(f"{path}: not an ONNX model (no graph: empty or another file type?)")
    tensors = list(_tensors(proto.graph))
    external = [(n, t) for n, t in tensors if t.data_location == onnx.TensorProto.EXTERNAL]
    for name, tensor in tensors:
        _tensor_ok(tensor, name, path)
    for name, tensor in external:
        _external_ok(tensor, name, path.parent, path)
    _graph_ok(proto.graph, path)
    if external:
        from onnx.external_data_helper import load_external_data_for_model

        try:
            load_external_data_for_model(proto, str(path.parent))
        except (TypeError, ValueError, OSError) as exc:
            raise ModelFileError(f"{path}: its external data cannot be read: {str(exc).splitlines()[0][:200]}") from None
    return proto


_TYPED_FIELDS = ("float_data", "int32_data", "int64_data", "double_data", "uint64_data", "string_data")


def _tensor_ok(tensor: onnx.TensorProto, name: str, path: Path) -> None:
    """Any tensor: a known type and non-negative dims; one stored in the file also exactly as
    much data as its dims need (nothing is ever allocated for dims the file does not back)."""
    if any(d < 0 for d in tensor.dims):
        raise ModelFileError(f"{path}: tensor '{name}' has a negative dimension {list(tensor.dims)}")
    if tensor.data_type == onnx.TensorProto.UNDEFINED or tensor.data_type not in onnx.TensorProto.DataType.values():
        raise ModelFileError(f"{path}: tensor '{name}' has no valid data type ({tensor.data_type})")
    if tensor.data_type == onnx.TensorProto.STRING or tensor.data_location == onnx.TensorProto.EXTERNAL:
        return
    import math

    count = math.prod(tensor.dims)
    if tensor.HasField("raw_data"):
        need = _nbytes(tensor)
        if need is not None and len(tensor.raw_data) != need:
            raise ModelFileError(f"{path}: tensor '{name}' holds {len(tensor.raw_data)} bytes, its dims "
                                 f"{list(tensor.dims)} need {need}")
        return
    stored = max(len(getattr(tensor, f)) for f in _TYPED_FIELDS)
    if stored != count and not (tensor.data_type in (onnx.TensorProto.COMPLEX64, onnx.TensorProto.COMPLEX128)
                                and stored == 2 * count):
        raise ModelFileError(f"{path}: tensor '{name}' holds {stored} values, its dims {list(tensor.dims)} need {count}")


def _graph_ok(graph: onnx.GraphProto, path: Path) -> None:
    """Names and input dims that no ONNX model can have."""
    from collections import Counter

    twice = [n for n, c in Counter(t.name for t in graph.initializer).items() if c > 1]
    if twice:
        raise ModelFileError(f"{path}: initializer(s) {', '.join(map(repr, twice[:5]))} defined more than once")
    for value in graph.input:
        dims = value.type.tensor_type.shape.dim
        bad = [d.dim_value for d in dims if d.HasField("dim_value") and d.dim_value < 0]
        if bad:
            raise ModelFileError(f"{path}: input '{value.name}' has a negative dimension ({bad[0]})")


def default_opset(proto: onnx.ModelProto) -> int | None:
    return next((o.version for o in proto.opset_import if o.domain in ("", "ai.onnx")), None)


def upgrade(proto: onnx.ModelProto, path: Path) -> onnx.ModelProto:
    """``proto`` at opset ``OPSET`` and IR version >= ``IR_VERSION``."""
    version = default_opset(proto)
    if version is None:
        raise ModelFileError(f"{path}: the model imports no ONNX default-domain opset")
    if version != OPSET:
        from onnx import version_converter

        old_resizes = _resizes_before_11(proto, path, version)
        if version < 7:
            _per_channel_prelu_slopes(proto)
        try:
            proto = version_converter.convert_version(proto, OPSET)
        except Exception as exc:  # noqa: BLE001 - the converter raises RuntimeError/ValueError/its own
            first = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:300]
            raise ModelFileError(f"{path}: onnx's version converter cannot bring opset {version} to {OPSET}: "
                                 f"{first}") from None
        _keep_resize_semantics(proto, old_resizes)
    if proto.ir_version < IR_VERSION:
        proto.ir_version = IR_VERSION
    return proto


def _constant(graph: onnx.GraphProto, name: str):
    from onnx import numpy_helper

    for tensor in graph.initializer:
        if tensor.name == name:
            return numpy_helper.to_array(tensor)
    for node in graph.node:
        if node.op_type == "Constant" and name in node.output:
            value = next((a.t for a in node.attribute if a.name == "value"), None)
            return None if value is None else numpy_helper.to_array(value)
    return None


def _resizes_before_11(proto: onnx.ModelProto, path: Path, version: int) -> dict[str, str | None]:
    """Upsample/Resize nodes of an opset < 11 model: {output name: nearest_mode to set (None unless nearest)}."""
    if version >= 11:
        return {}
    found = {}
    for node in proto.graph.node:
        if node.op_type not in ("Upsample", "Resize") or node.domain not in ("", "ai.onnx") or not node.output:
            continue
        mode = next((a.s.decode() for a in node.attribute if a.name == "mode"), "nearest")
        rounding = None
        if mode == "nearest":
            rounding = "floor"  # Upsample's scales are >= 1; so are a Resize-10's unless it shrinks
            scales = _constant(proto.graph, node.input[1]) if node.op_type == "Resize" and len(node.input) > 1 else None
            if scales is not None and scales.size and (scales < 1).any():
                if (scales > 1).any():
                    raise ModelFileError(
                        f"{path}: {node.op_type} '{node.name or node.output[0]}' (opset {version}, nearest) enlarges "
                        f"some axes and shrinks others (scales {scales.tolist()}): its rounding has no form at "
                        f"opset {OPSET}")
                rounding = "ceil"
        found[node.output[0]] = rounding
    return found


def _keep_resize_semantics(proto: onnx.ModelProto, old: dict[str, str | None]) -> None:
    """Set the opset-10 coordinate transform and rounding on the Resize nodes the converter made of ``old``."""
    if not old:
        return
    for node in proto.graph.node:
        if node.op_type != "Resize" or not node.output or node.output[0] not in old:
            continue
        settings = {"coordinate_transformation_mode": "asymmetric"}
        if old[node.output[0]] is not None:
            settings["nearest_mode"] = old[node.output[0]]
        kept = [a for a in node.attribute if a.name not in settings]
        del node.attribute[:]
        node.attribute.extend(kept)
        node.attribute.extend(onnx.helper.make_attribute(k, v) for k, v in settings.items())


def _per_channel_prelu_slopes(proto: onnx.ModelProto) -> None:
    """Reshape the (C,) constant slope of every opset < 7 PRelu on rank r > 2 input to (C, 1, ..., 1)."""
    from modelport.ir.proto import weightless

    graph = proto.graph
    prelus = [n for n in graph.node if n.op_type == "PRelu" and n.domain in ("", "ai.onnx") and len(n.input) == 2]
    if not prelus:
        return
    try:
        inferred = onnx.shape_inference.infer_shapes(weightless(proto)).graph
    except Exception:  # noqa: BLE001 - fall back to what the model declares
        inferred = graph
    ranks = {v.name: len(v.type.tensor_type.shape.dim) for v in [*inferred.input, *inferred.value_info, *graph.input,
                                                                   *graph.value_info] if v.type.tensor_type.HasField("shape")}
    readers: dict[str, set] = {}
    for node in graph.node:
        for name in node.input:
            readers.setdefault(name, set()).add(node.op_type)
    tensors = {t.name: t for t in graph.initializer}
    tensors.update({n.output[0]: a.t for n in graph.node if n.op_type == "Constant" for a in n.attribute if a.name == "value"})
    declared = {i.name: i for i in graph.input}
    for node in prelus:
        slope, rank = tensors.get(node.input[1]), ranks.get(node.input[0], 0)
        if slope is None or len(slope.dims) != 1 or slope.dims[0] == 1 or rank <= 2 or readers[node.input[1]] != {"PRelu"}:
            continue
        dims = [slope.dims[0]] + [1] * (rank - 2)
        del slope.dims[:]
        slope.dims.extend(dims)
        if node.input[1] in declared:  # an initializer listed as an input (old exporters)
            shape = declared[node.input[1]].type.tensor_type.shape
            del shape.dim[:]
            for d in dims:
                shape.dim.add().dim_value = d
