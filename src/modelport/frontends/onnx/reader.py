"""Read an ``.onnx`` file safely and bring it to modelport's opset.

- Parsed without its external data first; every external-data location must be a
  relative path that stays inside the model's folder (no ``..``, no absolute paths),
  name an existing file, and lie within it (offset + length <= file size), before any
  of it is read.
- Old exporters list initializers as graph inputs too: those are weights.
- Opsets other than ``OPSET`` go through onnx's version converter; when it cannot
  convert, the message names the opsets and what it said.
"""
from __future__ import annotations

from pathlib import Path

import onnx

from modelport.errors import ModelFileError
from modelport.ir.contract import IR_VERSION, OPSET


def _external_ok(tensor: onnx.TensorProto, folder: Path, path: Path) -> None:
    info = {e.key: e.value for e in tensor.external_data}
    location = info.get("location", "")
    target = (folder / location).resolve()
    if not location or Path(location).is_absolute() or folder.resolve() not in target.parents:
        raise ModelFileError(f"{path}: tensor '{tensor.name}' keeps its data at '{location}', outside the "
                             "model's folder; modelport reads external data only from files beside the model")
    if not target.is_file():
        raise ModelFileError(f"{path}: tensor '{tensor.name}': external data file {target} not found")
    try:
        offset, length = int(info.get("offset", 0)), int(info.get("length", -1))
    except ValueError:
        raise ModelFileError(f"{path}: tensor '{tensor.name}': malformed external data offset/length") from None
    size = target.stat().st_size
    if offset < 0 or offset > size or (length >= 0 and offset + length > size):
        raise ModelFileError(f"{path}: tensor '{tensor.name}': external data ({offset}+{length} bytes) "
                             f"lies beyond the end of {target.name} ({size} bytes)")


def _tensors(graph: onnx.GraphProto):
    yield from graph.initializer
    for node in graph.node:
        for attr in node.attribute:
            if attr.HasField("t"):
                yield attr.t
            yield from attr.tensors
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
    external = [t for t in _tensors(proto.graph) if t.data_location == onnx.TensorProto.EXTERNAL]
    for tensor in external:
        _external_ok(tensor, path.parent, path)
    if external:
        from onnx.external_data_helper import load_external_data_for_model

        load_external_data_for_model(proto, str(path.parent))
    return proto


def default_opset(proto: onnx.ModelProto) -> int | None:
    return next((o.version for o in proto.opset_import if o.domain in ("", "ai.onnx")), None)


def upgrade(proto: onnx.ModelProto, path: Path) -> onnx.ModelProto:
    """``proto`` at opset ``OPSET`` and IR version >= ``IR_VERSION``."""
    version = default_opset(proto)
    if version is None:
        raise ModelFileError(f"{path}: the model imports no ONNX default-domain opset")
    if version != OPSET:
        from onnx import version_converter

        try:
            proto = version_converter.convert_version(proto, OPSET)
        except Exception as exc:  # noqa: BLE001 - the converter raises RuntimeError/ValueError/its own
            first = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:300]
            raise ModelFileError(f"{path}: onnx's version converter cannot bring opset {version} to {OPSET}: "
                                 f"{first}") from None
    if proto.ir_version < IR_VERSION:
        proto.ir_version = IR_VERSION
    return proto
