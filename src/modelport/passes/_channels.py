"""Shared by the folding passes: a per-output-channel affine map folded into a producer.

A Conv, ConvTranspose or Gemm ``P`` whose output ``y`` is followed by ``y * s + t`` with
``s`` and ``t`` constant per output channel (channel axis 1) computes the same as ``P``
with its weight scaled per output channel by ``s`` and its bias replaced by
``b * s + t``:

- Conv: weight ``(C_out, C_in/group, k...)``, output channel = weight axis 0;
  ``w'[o] = w[o] * s[o]``, ``b' = b * s + t`` (``b = 0`` when absent).
- ConvTranspose: weight ``(C_in, C_out/group, k...)``; output channel
  ``o = g * (C_out/group) + j`` is weight ``[g * (C_in/group) : (g+1) * (C_in/group), j]``,
  so the weight is viewed as ``(group, C_in/group, C_out/group, k...)`` and scaled along
  axis 2 by ``s`` viewed as ``(group, 1, C_out/group, 1...)``.
- Gemm: ``Y = alpha * A' B' + beta * C`` (``B' = B^T`` when ``transB``); output channel
  ``n`` is column ``n`` of ``B'``: ``B'[:, n] *= s[n]`` (rows of ``B`` when ``transB=1``,
  columns when ``transB=0``), ``C' = beta * C * s + t`` and ``beta`` becomes 1.

Arithmetic is done in float64 and stored in float32. New values are NEW initializers with
unique names (an initializer another node reads is never changed); inputs left unread
are dropped. A folded weight is an ``onnx_ir.LazyTensor``: computed from the original
when something reads it (the writer, one tensor at a time), so folding a 100 MB model
never holds a second copy of its weights.
"""
from __future__ import annotations

import numpy as np
import onnx_ir as ir

from modelport.ir.constants import const_array  # noqa: F401 - the passes import it from here too
from modelport.ir import provenance

PRODUCERS = ("Conv", "ConvTranspose", "Gemm")



def _int_attr(node: ir.Node, name: str, default: int) -> int:
    attr = node.attributes.get(name)
    return default if attr is None else attr.as_int()


def _float_attr(node: ir.Node, name: str, default: float) -> float:
    attr = node.attributes.get(name)
    return default if attr is None else attr.as_float()


def foldable_producer(value: ir.Value) -> tuple[ir.Node, int, int] | None:
    """``(producer, channels, output_rank)`` when ``value`` comes from a Conv/ConvTranspose/Gemm
    with constant float32 weight (and bias), is read by exactly one node input and is not a
    graph output; else None."""
    node = value.producer()
    if (node is None or node.domain != "" or node.op_type not in PRODUCERS or len(node.outputs) != 1
            or value.is_graph_output() or len(value.uses()) != 1 or len(node.inputs) < 2):
        return None
    weight = const_array(node.inputs[1])
    if weight is None or weight.dtype != np.float32:
        return None
    if len(node.inputs) > 2 and node.inputs[2] is not None:
        bias = const_array(node.inputs[2])
        if bias is None or bias.dtype != np.float32:
            return None
    if node.op_type == "Conv":
        return (node, weight.shape[0], weight.ndim) if weight.ndim >= 3 else None
    if node.op_type == "ConvTranspose":
        group = _int_attr(node, "group", 1)
        return (node, weight.shape[1] * group, weight.ndim) if weight.ndim >= 3 else None
    if weight.ndim != 2:
        return None
    return node, weight.shape[0] if _int_attr(node, "transB", 0) else weight.shape[1], 2


def per_channel(array: np.ndarray, channels: int, rank: int) -> np.ndarray | None:
    """``array`` as a length-``channels`` float64 vector when broadcasting it against a tensor
    of rank ``rank`` varies only along axis 1 (scalar, ``(C,1,1)``, ``(1,C,1,1)``, ``(C,)`` for
    rank 2 ...) and leaves that tensor's shape unchanged; else None."""
    if array.ndim > rank:
        return None
    shape = (1,) * (rank - array.ndim) + array.shape
    if any(d != 1 for k, d in enumerate(shape) if k != 1) or shape[1] not in (1, channels):
        return None
    return np.broadcast_to(array.astype(np.float64).reshape(-1), (channels,)).copy()


def _unique_name(graph: ir.Graph, base: str) -> str:
    taken = {v.name for v in graph.inputs} | set(graph.initializers)
    taken |= {v.name for node in ir.traversal.RecursiveGraphIterator(graph) for v in node.outputs}
    name, n = base, 1
    while name in taken:
        n += 1
        name = f"{base}_{n}"
    return name


def _initializer(graph: ir.Graph, base: str, array: np.ndarray) -> ir.Value:
    name = _unique_name(graph, base)
    array = np.ascontiguousarray(array.astype(np.float32))
    value = ir.Value(name=name, shape=ir.Shape(array.shape), type=ir.TensorType(ir.DataType.FLOAT),
                     const_value=ir.Tensor(array, name=name))
    graph.register_initializer(value)
    return value


def _set_input(node: ir.Node, index: int, value: ir.Value) -> None:
    if len(node.inputs) <= index:
        node.resize_inputs(index + 1)
    node.replace_input_with(index, value)


def _drop_unread(graph: ir.Graph, values) -> None:
    """Remove initializers (and Constant nodes) among ``values`` that nothing reads any more."""
    for value in values:
        if value is None or value.uses() or value.is_graph_output() or value.is_graph_input():
            continue
        if value.is_initializer():
            graph.initializers.pop(value.name)
        elif (node := value.producer()) is not None and node.op_type == "Constant" and node.graph is graph:
            graph.remove(node, safe=True)


def _scaled_weight(node: ir.Node, weight: ir.TensorProtocol, scale: np.ndarray):
    """A function computing ``weight`` scaled per output channel (float32), for a LazyTensor:
    the folded weights are computed when written, never all held at once."""
    op, group, trans_b = node.op_type, _int_attr(node, "group", 1), _int_attr(node, "transB", 0)

    def compute() -> ir.Tensor:
        if op == "Conv":  # output channels first: float64 a block of channels at a time, into float32
            source = weight.numpy()
            out = np.empty(source.shape, np.float32)
            for start in range(0, source.shape[0], 64):
                block = slice(start, start + 64)
                factor = scale[block].reshape((-1,) + (1,) * (source.ndim - 1))
                out[block] = source[block].astype(np.float64) * factor
            return ir.Tensor(out)
        w = weight.numpy().astype(np.float64)
        if op == "ConvTranspose":
            c_in, c_out_g, kernel = w.shape[0], w.shape[1], w.shape[2:]
            grouped = w.reshape((group, c_in // group, c_out_g) + kernel)
            w = (grouped * scale.reshape((group, 1, c_out_g) + (1,) * len(kernel))).reshape(w.shape)
        else:  # Gemm
            w = w * (scale[:, None] if trans_b else scale[None, :])
        return ir.Tensor(np.ascontiguousarray(w.astype(np.float32)))
    return compute


def fold_affine(graph: ir.Graph, node: ir.Node, scale: np.ndarray, shift: np.ndarray, base: str) -> None:
    """Make ``node`` compute ``node(x) * scale + shift`` (float64 vectors over output channels)."""
    old = list(node.inputs)
    weight = node.inputs[1].const_value
    has_bias = len(node.inputs) > 2 and node.inputs[2] is not None
    bias = const_array(node.inputs[2]).astype(np.float64) if has_bias else None
    if node.op_type == "Gemm":
        new_bias = (0.0 if bias is None else _float_attr(node, "beta", 1.0) * bias) * scale + shift
    else:
        new_bias = (0.0 if bias is None else bias) * scale + shift
    name = _unique_name(graph, f"{base}_weight")
    lazy = ir.LazyTensor(_scaled_weight(node, weight, scale), ir.DataType.FLOAT, ir.Shape(weight.shape), name=name)
    value = ir.Value(name=name, shape=ir.Shape(weight.shape), type=ir.TensorType(ir.DataType.FLOAT), const_value=lazy)
    graph.register_initializer(value)
    _set_input(node, 1, value)
    if has_bias or np.any(new_bias != 0):
        _set_input(node, 2, _initializer(graph, f"{base}_bias", np.asarray(new_bias)))
        if node.op_type == "Gemm":
            node.attributes["beta"] = ir.AttrFloat32("beta", 1.0)
    _drop_unread(graph, old[1:])


def absorb_consumer(model: ir.Model, consumer: ir.Node, produced: ir.Value) -> None:
    """Remove ``consumer`` (now folded into ``produced``'s producer); ``produced`` takes the
    consumer's output name, the name the source engine reports, and its own name is recorded
    as folded into it."""
    graph = consumer.graph
    out = consumer.outputs[0]
    gone, keep = produced.name, out.name
    others = [v for v in consumer.inputs if v is not None and v is not produced]
    out.replace_all_uses_with(produced, replace_graph_outputs=True)
    graph.remove(consumer, safe=True)
    if out.type is not None:
        produced.type = out.type
    if out.shape is not None:
        produced.shape = out.shape
    out.name = None
    produced.name = keep
    provenance.absorb(model, gone, keep, provenance.FOLDED)
    _drop_unread(graph, others)
