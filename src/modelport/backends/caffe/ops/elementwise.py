"""Add / Sub / Mul / Div / Max / Sum.

- Two tensors of the same shape: Eltwise SUM (Sub: SUM with coefficients 1, -1), PROD, MAX.
- A tensor and a scalar constant: Power ``y = shift + scale * x`` (power 1):
  ``x + c`` shift c; ``x - c`` shift -c; ``c - x`` scale -1, shift c; ``x * c`` scale c;
  ``x / c`` scale 1/c (the float32 reciprocal: one rounding more than a division).
- A tensor and a constant that varies along one run of axes (axis >= 1) with the
  tensor's own sizes there (per channel; or e.g. SSD priors of shape (1, A, 4)): Scale
  with that ``axis``/``num_axes`` and the constant as its blob (Mul/Div), or with ones and
  a bias blob (Add/Sub).
Anything else (broadcasting two tensors, constants varying over space) is refused.

A scalar ``Mul`` whose only reader is a scalar ``Add`` (or ``x - c``), e.g. a lowered
HardSigmoid, is one Power layer ``shift + scale * x``: the same two roundings in the same
order; the Mul's output is recorded as folded into the Add's.
"""
from __future__ import annotations

import numpy as np

from modelport.backends.caffe import caffe_pb2 as pb
from modelport.backends.caffe.ops import Unsupported, emitter, fusion

E = pb.EltwiseParameter


def _span(constant: np.ndarray, shape: tuple) -> tuple[int, np.ndarray] | None:
    """``(axis, blob)`` when ``constant`` broadcast against a tensor of ``shape`` varies only
    over one run of axes ``axis .. axis+n-1`` (axis >= 1) where it has the tensor's own
    sizes: Caffe's Scale with ``axis`` and a blob of those sizes applies it exactly. A scalar
    or a per-channel vector is the case ``axis`` 1 (per channel, broadcast to C)."""
    if constant.ndim > len(shape) or len(shape) < 2:
        return None
    padded = (1,) * (len(shape) - constant.ndim) + constant.shape
    varying = [k for k, d in enumerate(padded) if d != 1]
    if not varying:
        return 1, np.full((shape[1],), constant.reshape(-1)[0], np.float32)
    first, last = varying[0], varying[-1]
    if first == 0 or tuple(padded[first:last + 1]) != tuple(shape[first:last + 1]):
        return None
    return first, constant.reshape(shape[first:last + 1]).astype(np.float32)


def _power(net, x, out: str, scale: float = 1.0, shift: float = 0.0) -> None:
    layer = net.layer("Power", [x], out)
    if scale != 1.0:
        layer.power_param.scale = scale
    if shift != 0.0:
        layer.power_param.shift = shift


@emitter("Add", "Sub", "Mul", "Div", "Max", "Sum")
def binary(net, node) -> None:
    op, out = node.op_type, node.outputs[0].name
    inputs = list(node.inputs)
    consts = [net.const(v) for v in inputs]
    if all(c is None for c in consts):
        shapes = {net.shape(v) for v in inputs}
        if len(shapes) != 1:
            raise Unsupported(f"broadcasting between tensors of shapes {sorted(shapes)}")
        if op == "Div":
            raise Unsupported("division of two tensors")
        layer = net.layer("Eltwise", inputs, out)
        p = layer.eltwise_param
        p.operation = {"Add": E.SUM, "Sum": E.SUM, "Sub": E.SUM, "Mul": E.PROD, "Max": E.MAX}[op]
        if op == "Sub":
            p.coeff.extend([1.0, -1.0])
        return
    if len(inputs) != 2 or all(c is not None for c in consts) or op in ("Max", "Sum"):
        raise Unsupported(f"{op} with a constant operand of this form")
    k = 0 if consts[0] is None else 1  # the tensor operand
    x, c = inputs[k], consts[1 - k].astype(np.float64)
    shape = net.shape(x)
    if net.shape(node.outputs[0]) != shape:
        raise Unsupported(f"the constant broadcasts the tensor to {list(net.shape(node.outputs[0]))}")
    if c.size == 1:
        v = float(c.reshape(-1)[0])
        if op == "Add":
            _power(net, x, out, shift=v)
        elif op == "Sub":
            _power(net, x, out, scale=1.0 if k == 0 else -1.0, shift=-v if k == 0 else v)
        elif op == "Mul":
            _power(net, x, out, scale=v)
        elif k == 0:  # x / c
            _power(net, x, out, scale=float(np.float32(1.0) / np.float32(v)))
        else:
            raise Unsupported("a constant divided by a tensor")
        return
    span = _span(c, shape)
    if span is None:
        raise Unsupported(f"a constant of shape {list(c.shape)} that Caffe's Scale cannot apply to {list(shape)}")
    if op == "Div" and k == 1:
        raise Unsupported("a constant divided by a tensor")
    if op == "Sub" and k == 1:
        raise Unsupported("a constant (not a scalar) minus a tensor")
    axis, blob = span
    layer = net.layer("Scale", [x], out)
    layer.scale_param.axis = axis
    if blob.ndim != 1:
        layer.scale_param.num_axes = blob.ndim
    if op in ("Mul", "Div"):
        net.blob(layer, blob if op == "Mul" else (np.float32(1.0) / blob).astype(np.float32))
    else:
        layer.scale_param.bias_term = True
        net.blob(layer, np.ones_like(blob))
        net.blob(layer, blob if op == "Add" else -blob)


def _scalar_operand(net, node):
    """``(tensor input, scalar)`` for a binary node with one scalar constant operand, else None."""
    if node.domain != "" or len(node.inputs) != 2:
        return None
    consts = [net.const(v) for v in node.inputs]
    if (consts[0] is None) == (consts[1] is None):
        return None
    k = 0 if consts[0] is None else 1
    c = consts[1 - k]
    return (node.inputs[k], float(c.reshape(-1)[0]), k) if c.size == 1 else None


@fusion
def scale_shift(net, node):
    """Add(Mul(x, a), b) / Sub(Mul(x, a), b) with scalar a, b -> one Power(scale=a, shift=±b)."""
    if node.op_type not in ("Add", "Sub"):
        return None
    outer = _scalar_operand(net, node)
    if outer is None or (node.op_type == "Sub" and outer[2] != 0):
        return None
    t, b, _ = outer
    mul = t.producer()
    if mul is None or mul.op_type != "Mul" or len(t.uses()) != 1 or t.is_graph_output():
        return None
    inner = _scalar_operand(net, mul)
    if inner is None:
        return None
    x, a, _ = inner
    shift = b if node.op_type == "Add" else -b

    def emit(net, node):
        _power(net, x, node.outputs[0].name, scale=a, shift=shift)

    return [mul], emit
