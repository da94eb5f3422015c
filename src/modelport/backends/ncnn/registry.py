"""Emitters from ONNX nodes to ncnn layers, and what they share.

An emitter is ``fn(ctx, node) -> None`` registered with ``@ncnn_op("Conv", ...)`` by ONNX
op type (a node of the private ``modelport`` domain with the same op type, e.g. a Conv
with a fused activation, goes to the same emitter). It adds layers with ``ctx.layer``
and refuses what it cannot write with ``ctx.refuse(reason)``: the writer lists every
refusal of the model at once.

Layout (ncnn blobs have no batch axis and at most 4 dims): an IR tensor of shape
``(1, d1, ..., dk)`` (rank >= 2, leading 1: the batch axis) is an ncnn blob of ``k``
dims, outermost first: 1-D ``w``; 2-D ``h, w``; 3-D ``c, h, w``; 4-D ``c, d, h, w``. So an
ONNX axis ``a >= 1`` is ncnn axis ``a - 1`` in the dims order that
Concat/Slice/Softmax/Reduction/Crop take (their ``axis`` counts from the outermost dim).
A tensor whose first dim is not 1 (a Reshape folded the batch of 1 into it, as
PyTorch's ``view(-1, 2)`` does) is the same data with no batch axis: its dims are all
of its axes and ONNX axis ``a`` is ncnn axis ``a`` (``offset`` is 0). Graph inputs must
have batch 1 (ncnn runs one sample); an op on the batch axis, or more than 4 ncnn dims,
is refused naming the node.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import onnx_ir as ir

from modelport.ir.constants import const_array

EMITTERS: dict[str, Callable] = {}


def ncnn_op(*op_types: str):
    def register(fn):
        for op in op_types:
            EMITTERS[op] = fn
        return fn
    return register


class Refused(Exception):
    """A node the ncnn target cannot take; the message says why."""


@dataclass
class Weight:
    data: object  # an ndarray, or a function returning one (computed when written, one at a time)
    tagged: bool  # ncnn reads a 4-byte type tag before it (Convolution/InnerProduct weights)

    def array(self) -> np.ndarray:
        data = self.data() if callable(self.data) else self.data
        return np.ascontiguousarray(data, dtype=np.float32).ravel()


@dataclass
class Layer:
    type: str
    name: str
    inputs: list[str]
    outputs: list[str]
    params: dict[int, object] = field(default_factory=dict)  # id -> int | float | list (array param)
    weights: list[Weight] = field(default_factory=list)


class EmitContext:
    """What an emitter sees: static shapes without the batch axis, constants, and the layer list."""

    def __init__(self, model: ir.Model, exact: bool = False):
        self.model = model
        self.exact = exact  # the target's ``exact`` option: refuse what ncnn can only approximate
        self.warnings: list[str] = []  # what ncnn only approximates (warned when written)
        self.layers: list[Layer] = []
        self.memory: set[str] = set()  # constants already emitted as MemoryData
        self.aliases: dict[str, str] = {}  # tensor -> the blob that holds it (a layer that would change nothing)
        self._names: set[str] = set()
        self.node: ir.Node | None = None

    # ---- refusals -----------------------------------------------------------------
    def refuse(self, reason: str):
        raise Refused(reason)

    def inexact(self, messages: list[str]):
        """What the node's ncnn layers only approximate (each message names the node, the attribute
        and what differs): warned when written (``ConversionWarning``), refused with ``exact``."""
        if self.exact:
            self.refuse("not exact in ncnn (refused under the exact option): " + "; ".join(messages))
        self.warnings.extend(messages)

    # ---- values -------------------------------------------------------------------
    @staticmethod
    def const(value: ir.Value | None) -> np.ndarray | None:
        """The constant behind ``value`` (``ir.constants.const_array``), else None."""
        return const_array(value) if isinstance(value, ir.Value) else None

    @staticmethod
    def const_shape(value: ir.Value | None) -> tuple[int, ...] | None:
        """The shape of a constant (an initializer that is not a graph input) WITHOUT reading its
        data (large weights stay on disk until written), else None."""
        if not isinstance(value, ir.Value) or value.is_graph_input() or value.const_value is None:
            return None
        return tuple(int(d) for d in value.const_value.shape)

    def need_const(self, value: ir.Value, what: str) -> np.ndarray:
        array = self.const(value)
        if array is None:
            self.refuse(f"{what} ({value.name}) must be a constant")
        return array

    def shape(self, value: ir.Value) -> tuple[int, ...]:
        """The full static IR shape (batch axis included)."""
        if value.shape is None or any(not isinstance(d, int) for d in value.shape):
            what = "input" if value.is_graph_input() else "tensor"
            self.refuse(f"{what} '{value.name}' has no static shape: ncnn models are converted at fixed sizes "
                        "(give them with --input NAME:1,C,H,W)")
        return tuple(int(d) for d in value.shape)

    def offset(self, value: ir.Value) -> int:
        """1 when ``value``'s axis 0 is a batch axis of 1 (dropped in ncnn), else 0."""
        shape = self.shape(value)
        return 1 if len(shape) >= 2 and shape[0] == 1 else 0

    def dims(self, value: ir.Value) -> tuple[int, ...]:
        """The ncnn dims (outermost first) of an activation: its IR shape without the batch axis."""
        shape = self.shape(value)
        if not shape:
            self.refuse(f"tensor '{value.name}' is a scalar: ncnn blobs have 1 to 4 dims")
        if value.is_graph_input() and (len(shape) < 2 or shape[0] != 1):
            self.refuse(f"input '{value.name}' of shape {shape}: ncnn runs batch 1 only "
                        "(ncnn blobs have no batch axis)")
        dims = shape[self.offset(value):]
        if not 1 <= len(dims) <= 4:
            self.refuse(f"tensor '{value.name}' of shape {shape} has {len(dims)} dims besides the batch: "
                        "ncnn blobs have 1 to 4")
        return dims

    def axis(self, value: ir.Value, axis: int) -> int:
        """ncnn axis (dims order) of ONNX ``axis`` of ``value``; the batch axis is refused."""
        rank = len(self.shape(value))
        a = axis + rank if axis < 0 else axis
        if not 0 <= a < rank:
            self.refuse(f"axis {axis} out of range for rank {rank}")
        offset = self.offset(value)
        if a < offset:
            self.refuse("the op works on the batch axis, which ncnn blobs do not have")
        return a - offset

    def blob(self, value: ir.Value) -> str:
        """The blob name of an input; a constant becomes a MemoryData layer (once) shaped as is
        (its batch axis, of size 1, dropped)."""
        array = self.const(value)
        if array is not None and value.name not in self.memory:
            shape = array.shape
            if len(shape) >= 2 and shape[0] == 1:
                shape = shape[1:]
            self.memory_data(value.name, np.asarray(array, np.float32).reshape(shape or (1,)))
        return self.aliases.get(value.name, value.name)

    def rename_blob(self, value: ir.Value, new: ir.Value) -> bool:
        """Make the layer that wrote ``value``'s blob write ``new``'s name instead (``value`` is
        recorded as an alias of it); False when no single layer owns that blob."""
        from modelport.ir import provenance

        old = self.blob(value)
        if old in self.aliases.values():
            return False
        owners = [layer for layer in self.layers if old in layer.outputs]
        if len(owners) != 1:
            return False
        owners[0].outputs = [new.name if o == old else o for o in owners[0].outputs]
        self.aliases[value.name] = new.name
        provenance.absorb(self.model, value.name, new.name, provenance.ALIAS)
        return True

    def alias(self, value: ir.Value, blob: str) -> None:
        """``value`` is ``blob`` in ncnn (no layer written): its readers read ``blob``, and the
        name is recorded as an alias of it (``ir.provenance``), so verify compares it there."""
        from modelport.ir import provenance

        self.aliases[value.name] = blob
        provenance.absorb(self.model, value.name, blob, provenance.ALIAS)

    def memory_data(self, name: str, array: np.ndarray) -> str:
        """A MemoryData layer holding ``array`` (1 to 4 dims, outermost first). Params:
        0=w 1=h 11=d 2=c; data raw fp32, no tag."""
        if not 1 <= array.ndim <= 4:
            self.refuse(f"constant '{name}' has {array.ndim} dims: ncnn's MemoryData holds 1 to 4")
        self.memory.add(name)
        self.layers.append(Layer("MemoryData", self.unique(name), [], [name], shape_params(array.shape),
                                 [Weight(np.ascontiguousarray(array, np.float32).ravel(), False)]))
        return name

    def unique(self, base: str) -> str:
        name, n = base, 1
        while name in self._names:
            n += 1
            name = f"{base}_{n}"
        self._names.add(name)
        return name

    # ---- layers -------------------------------------------------------------------
    def layer(self, type_: str, inputs: list[str], outputs: list[str], params: dict | None = None,
              weights: list[Weight] | None = None, name: str | None = None) -> Layer:
        layer = Layer(type_, self.unique(name or outputs[0]), list(inputs), list(outputs), dict(params or {}),
                      list(weights or []))
        self.layers.append(layer)
        return layer


def shape_params(dims: tuple[int, ...]) -> dict[int, int]:
    """ncnn's shape params (0=w 1=h 11=d 2=c) for dims outermost first."""
    keys = {1: (0,), 2: (1, 0), 3: (2, 1, 0), 4: (2, 11, 1, 0)}[len(dims)]
    return {k: int(d) for k, d in zip(keys, dims)}


def attr(node: ir.Node, name: str, default=None):
    a = node.attributes.get(name)
    if a is None:
        return default
    return a.value


# Fused activations (ncnn's activation_type / activation_params on Convolution,
# ConvolutionDepthWise, Deconvolution, InnerProduct ...): 0 none, 1 ReLU, 2 leaky ReLU
# (slope), 3 clip (min, max), 4 sigmoid, 5 mish, 6 hard-swish (alpha, beta).
def activation_params(node: ir.Node) -> dict[int, object]:
    kind = attr(node, "activation_type", 0)
    if not kind:
        return {}
    params = {9: int(kind)}
    values = attr(node, "activation_params", None)
    if values:
        params[10] = [float(v) for v in values]
    return params
