"""Element-wise arithmetic: elemwise_*, broadcast_*, *_scalar, add_n.

Binary ops (both operands are tensors; either may be a weight from the params file,
e.g. a mean image in ``broadcast_sub(data, mean)``, which stays an initializer):

    elemwise_add/sub/mul/div (legacy _plus/_minus/_mul/_div, _Plus/_Minus/_Mul/_Div)
        same shapes                                  -> Add / Sub / Mul / Div
    broadcast_add/sub/mul/div/plus/minus/maximum/minimum/power
        MXNet aligns shapes from the right and stretches size-1 axes, which is
        numpy broadcasting, as in ONNX              -> Add / Sub / Mul / Div / Max / Min / Pow
    broadcast_mod  a mod b with the sign of b (Python's %), and 0 where b == 0 (MXNet's
        mshadow ``mod``)                            -> Mod(fmod=1), + b where the signs differ,
                                                       Where(b == 0, 0, .)

Scalar ops ``op(x, scalar=s)``: MXNet parses ``scalar`` as a double and computes in
the data type, so s becomes a float32 0-d constant. Reversed forms put s first:

    _plus_scalar x + s    _minus_scalar x - s    _rminus_scalar s - x
    _mul_scalar  x * s    _div_scalar   x / s    _rdiv_scalar   s / x
    _power_scalar x ** s  _rpower_scalar s ** x
    _maximum_scalar max(x, s)   _minimum_scalar min(x, s)

``is_int`` only matters for integer tensors (numpy-style ops) and is ignored here.
The scalar +, -, *, / and the broadcast +, -, *, / often sit right after ``data`` as
preprocessing (PITFALL 6; registered with ``preprocessing=True``); they are always
kept. ``add_n`` / ``ElementWiseSum`` (x1 + x2 + ... + xn) -> Sum.
"""
from __future__ import annotations

from modelport.frontends.mxnet.registry import mxnet_op


def _binary(onnx_type: str):
    def convert(ctx):
        if ctx.num_inputs != 2:
            ctx.fail(f"expects 2 inputs, the graph gives {ctx.num_inputs}")
        return [ctx.op(onnx_type, [ctx.input(0), ctx.input(1)])]
    convert.__name__ = f"binary_{onnx_type.lower()}"
    return convert


def _scalar(onnx_type: str, reverse: bool = False):
    def convert(ctx):
        x, s = ctx.input(0), ctx.const(ctx.attrs.float("scalar"), "scalar")
        return [ctx.op(onnx_type, [s, x] if reverse else [x, s])]
    convert.__name__ = f"scalar_{onnx_type.lower()}{'_reversed' * reverse}"
    return convert


# Registrations: MXNet's own name first, then its aliases (legacy names), which share its schema.
_KEEPS_SHAPE = dict(shape_preserving=True)
_PREPROCESSING = dict(shape_preserving=True, preprocessing=True)

mxnet_op("elemwise_add", "_plus", "_Plus", schema="elemwise_add", **_KEEPS_SHAPE)(_binary("Add"))
mxnet_op("elemwise_sub", "_minus", "_Minus", schema="elemwise_sub", **_KEEPS_SHAPE)(_binary("Sub"))
mxnet_op("elemwise_mul", "_mul", "_Mul", schema="elemwise_mul", **_KEEPS_SHAPE)(_binary("Mul"))
mxnet_op("elemwise_div", "_div", "_Div", schema="elemwise_div", **_KEEPS_SHAPE)(_binary("Div"))

mxnet_op("broadcast_add", "broadcast_plus", schema="broadcast_add", **_PREPROCESSING)(_binary("Add"))
mxnet_op("broadcast_sub", "broadcast_minus", schema="broadcast_sub", **_PREPROCESSING)(_binary("Sub"))
mxnet_op("broadcast_mul", **_PREPROCESSING)(_binary("Mul"))
mxnet_op("broadcast_div", **_PREPROCESSING)(_binary("Div"))
mxnet_op("broadcast_maximum")(_binary("Max"))
mxnet_op("broadcast_minimum")(_binary("Min"))
mxnet_op("broadcast_power")(_binary("Pow"))

mxnet_op("_plus_scalar", **_PREPROCESSING)(_scalar("Add"))
mxnet_op("_minus_scalar", **_PREPROCESSING)(_scalar("Sub"))
mxnet_op("_rminus_scalar", **_PREPROCESSING)(_scalar("Sub", reverse=True))
mxnet_op("_mul_scalar", **_PREPROCESSING)(_scalar("Mul"))
mxnet_op("_div_scalar", **_PREPROCESSING)(_scalar("Div"))
mxnet_op("_rdiv_scalar", **_KEEPS_SHAPE)(_scalar("Div", reverse=True))
mxnet_op("_power_scalar", **_KEEPS_SHAPE)(_scalar("Pow"))
mxnet_op("_rpower_scalar", **_KEEPS_SHAPE)(_scalar("Pow", reverse=True))
mxnet_op("_maximum_scalar", **_KEEPS_SHAPE)(_scalar("Max"))
mxnet_op("_minimum_scalar", **_KEEPS_SHAPE)(_scalar("Min"))


@mxnet_op("broadcast_mod")
def broadcast_mod(ctx):
    a, b = ctx.input(0), ctx.input(1)
    rem = ctx.op("Mod", [a, b], {"fmod": 1})
    zero = ctx.const(0.0, "zero", a.dtype.numpy() if a.dtype is not None else "float32")
    differ = ctx.op("And", [ctx.op("Not", [ctx.op("Equal", [rem, zero])]),
                            ctx.op("Less", [ctx.op("Mul", [rem, b]), zero])])
    adjusted = ctx.op("Add", [rem, ctx.op("Where", [differ, b, zero])])
    return [ctx.op("Where", [ctx.op("Equal", [b, zero]), zero, adjusted])]


@mxnet_op("add_n", "ElementWiseSum", schema="add_n")
def add_n(ctx):
    inputs = ctx.inputs()
    if not inputs:
        ctx.fail("has no inputs")
    return [ctx.op("Sum", inputs)]
