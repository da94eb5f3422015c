"""Write an onnx_ir model (after the caffe target's passes) as .prototxt + .caffemodel.

``build(model, weights=True)`` walks the graph in order and asks the emitter registered
for each node's op type (``ops/``) to add its layers to a ``CaffeNet``; every node that
cannot be written is collected (``CaffeNet.problems``), never only the first.
``write_caffe`` then writes the text prototxt (layers without blobs, the graph inputs as
``input`` + ``input_shape``) and the binary caffemodel (the same layers with blobs).

Names: a layer is named after its first top, and a node's output top keeps its ONNX
value name (the source engine's tensor name). Helper tops the lowering adds (the
BatchNorm half of BatchNorm+Scale, the parts a Slice throws away) get names derived from
the output with a ``__`` suffix. The model's name provenance (``modelport.absorbed``) is
written as a ``# modelport.absorbed: {...}`` comment line at the top of the prototxt, and
the graph outputs as ``# modelport.outputs: [...]``: Caffe's text parser ignores them,
modelport's runner reads them.

A graph output that is a constant (SSD's priors, folded at static shapes) is written as a
``Const`` layer holding it as its blob (OpenCV's layer: a layer with blobs and no bottoms;
classic Caffe has no such type), named after the output.

What the net can only approximate (an emitter's ``net.inexact(node, attribute, what)``) is
refused with the other problems when the ``exact`` option is set, and otherwise warned
(``ConversionWarning``) once per node and attribute when the files are written.

Blobs are written packed: ``BlobProto.data`` (field 5) as one length-delimited run of
little-endian float32, parsed into the message in C (``MergeFromString``), so a large
weight never goes through a Python list.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import onnx_ir as ir

from modelport.ir.constants import const_array
from modelport.backends.caffe import caffe_pb2 as pb
from modelport.backends.caffe.ops import FUSIONS, Unsupported, key, load_all

ABSORBED_KEY = "modelport.absorbed"
OUTPUTS_KEY = "modelport.outputs"
_BLOB_DATA = 5


def _varint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        out.append(byte | (0x80 if value else 0))
        if not value:
            return bytes(out)


class CaffeNet:
    """The NetParameter under construction, with the helpers emitters use."""

    def __init__(self, model: ir.Model, weights: bool = True, options: dict | None = None):
        self.model = model
        self.weights = weights
        self.options = dict(options or {})
        self.proto = pb.NetParameter(name=model.graph.name or "modelport")
        self.problems: list[tuple[str, str, str]] = []  # (op, reason, node name)
        self.absorbed: dict[str, list[str]] = {}  # tensors fusions absorbed: {name: [survivor, "folded"]}
        self.inexact: list[tuple[str, str, str, str]] = []  # (op, node name, attribute, what differs)

    # -- reading the graph --------------------------------------------------------
    const = staticmethod(const_array)

    def need_const(self, value: ir.Value | None, what: str) -> np.ndarray:
        array = self.const(value)
        if array is None:
            raise Unsupported(f"{what} must be a constant")
        return array

    @staticmethod
    def shape(value: ir.Value) -> tuple[int, ...]:
        dims = None if value.shape is None else value.shape.dims
        if dims is None or not all(isinstance(d, int) for d in dims):
            raise Unsupported(f"tensor '{value.name}' has no static shape (convert with --input ...)")
        return tuple(int(d) for d in dims)

    @staticmethod
    def attr(node: ir.Node, name: str, default=None):
        attr = node.attributes.get(name)
        return default if attr is None else attr.value

    # -- writing layers -----------------------------------------------------------
    def layer(self, type_: str, bottoms, tops, name: str | None = None) -> pb.LayerParameter:
        tops = [tops] if isinstance(tops, str) else list(tops)
        for bottom in bottoms:
            if not isinstance(bottom, str) and self.const(bottom) is not None:
                raise Unsupported(f"constant operand '{bottom.name}' (a Caffe layer reads only computed blobs)")
        layer = self.proto.layer.add()
        layer.name = name or tops[0]
        layer.type = type_
        layer.bottom.extend(b if isinstance(b, str) else b.name for b in bottoms)
        layer.top.extend(tops)
        return layer

    def const_layer(self, name: str, array) -> pb.LayerParameter:
        """A ``Const`` layer (OpenCV's: no bottoms, its one blob is its top) named ``name``."""
        layer = self.layer("Const", [], name)
        self.blob(layer, np.asarray(array, np.float32))
        return layer

    def approximate(self, node: ir.Node, attribute: str, what: str) -> None:
        """Record that ``node``'s ``attribute`` is written inexactly (``what`` differs): a
        ConversionWarning at write time, or a refusal under the ``exact`` option."""
        entry = (node.op_type, node.outputs[0].name if node.outputs else node.name, attribute, what)
        if entry not in self.inexact:
            self.inexact.append(entry)

    def blob(self, layer: pb.LayerParameter, array) -> None:
        """Append a float32 blob (its shape always, its data when writing weights)."""
        array = np.asarray(array)
        blob = layer.blobs.add()
        blob.shape.dim.extend(int(d) for d in array.shape)
        if self.weights:
            data = np.ascontiguousarray(array, dtype="<f4").tobytes()
            blob.MergeFromString(_varint(_BLOB_DATA << 3 | 2) + _varint(len(data)) + data)


def build(model: ir.Model, weights: bool = True, options: dict | None = None) -> CaffeNet:
    emitters = load_all()
    net = CaffeNet(model, weights, options)
    graph = model.graph
    for value in graph.inputs:
        if value.is_initializer():
            continue
        try:
            shape = net.shape(value)
        except Unsupported as exc:
            net.problems.append(("input", str(exc), value.name))
            continue
        net.proto.input.append(value.name)
        net.proto.input_shape.add().dim.extend(shape)
    absorbed_by: dict = {}  # node -> the node whose layer computes it
    fused: dict = {}  # node -> its fusion's emitter
    for node in graph:
        for match in FUSIONS:
            found = match(net, node)
            if found is not None:
                inner, fn = found
                fused[node] = fn
                absorbed_by.update({n: node for n in inner})
                break
    for node in graph:
        if node in absorbed_by:
            survivor = absorbed_by[node].outputs[0].name
            net.absorbed.update({v.name: [survivor, "folded"] for v in node.outputs if v.name})
            continue
        fn = fused.get(node) or emitters.get(key(node.op_type, node.domain))
        name = node.name or (node.outputs[0].name if node.outputs else "?")
        if fn is None:
            net.problems.append((node.op_type, "no Caffe layer for this operator", name))
            continue
        try:
            fn(net, node)
        except Unsupported as exc:
            net.problems.append((node.op_type, str(exc), name))
    for value in graph.outputs:
        constant = net.const(value) if value.producer() is None and not value.is_graph_input() else None
        if constant is not None:
            net.const_layer(value.name, constant)
        elif value.producer() is None:
            net.problems.append(("output", "a graph output that no layer computes (an input)", value.name))
    if net.options.get("exact"):
        net.problems.extend((op, f"{attribute}: {what} (refused under the exact option)", name)
                            for op, name, attribute, what in net.inexact)
    return net


def problems(model: ir.Model, options: dict | None = None) -> list[str]:
    """Every node the Caffe writer cannot take, grouped by (op, reason), as sentences."""
    grouped: dict[tuple[str, str], list[str]] = {}
    for op, reason, name in build(model, weights=False, options=options).problems:
        grouped.setdefault((op, reason), []).append(name)
    return [f"{op}: {reason}: {len(names)} node(s): {', '.join(names[:8])}{' ...' if len(names) > 8 else ''}"
            for (op, reason), names in grouped.items()]


def prototxt_text(net: CaffeNet, absorbed: dict | None = None, outputs: list[str] | None = None) -> str:
    """The net as text, without blobs, after the comment lines modelport's runner reads."""
    from google.protobuf import text_format

    text = pb.NetParameter()
    text.CopyFrom(net.proto)
    for layer in text.layer:
        del layer.blobs[:]
    head = f"# {ABSORBED_KEY}: {json.dumps(absorbed or {}, sort_keys=True)}\n"
    if outputs:
        head += f"# {OUTPUTS_KEY}: {json.dumps(list(outputs))}\n"
    return head + text_format.MessageToString(text)


def write_caffe(model: ir.Model, prototxt: Path, caffemodel: Path, options: dict | None = None,
                finish=None, notes: list[str] | None = None) -> CaffeNet:
    """Build and write; ``finish(net_proto)`` may edit the NetParameter before it is written
    (a profile's last touches), ``notes`` become ``# modelport.notes`` comment lines."""
    from modelport.errors import ConversionError
    from modelport.ir.provenance import absorbed

    net = build(model, weights=True, options=options)
    if net.problems:
        raise ConversionError([f"{op} '{name}': {reason}" for op, reason, name in net.problems],
                              header="the Caffe writer cannot take")
    _warn_inexact(net)
    if finish is not None:
        finish(net.proto)
    record = {k: list(v) for k, v in absorbed(model.metadata_props).items()}
    record.update(net.absorbed)
    text = prototxt_text(net, record, [v.name for v in model.graph.outputs])
    if notes:
        text = "".join(f"# modelport.notes: {note}\n" for note in notes) + text
    Path(prototxt).write_text(text)
    for layer in net.proto.layer:  # a fork's layer: by name in the prototxt only (see caffe.proto)
        layer.ClearField("interp_param")
    Path(caffemodel).write_bytes(net.proto.SerializeToString())
    return net


def _warn_inexact(net: CaffeNet) -> None:
    import warnings

    from modelport.errors import ConversionWarning

    for op, name, attribute, what in net.inexact:
        warnings.warn(f"{op} '{name}': {attribute}: {what} (convert with --exact to refuse instead)",
                      ConversionWarning, stacklevel=3)


def read_absorbed(prototxt: Path) -> dict[str, tuple[str, str]]:
    """The provenance comment the writer puts at the top of a prototxt (empty if none)."""
    prefix = f"# {ABSORBED_KEY}: "
    with open(prototxt, encoding="utf-8", errors="replace") as f:
        for line in f:
            if not line.startswith("#"):
                return {}
            if line.startswith(prefix):
                try:
                    data = json.loads(line[len(prefix):])
                except json.JSONDecodeError:
                    return {}
                return {k: (v[0], v[1]) for k, v in data.items() if isinstance(v, list) and len(v) == 2}
    return {}
