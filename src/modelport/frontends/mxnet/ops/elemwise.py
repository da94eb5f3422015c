"""Element-wise arithmetic: elemwise_*, broadcast_*, *_scalar, add_n.

Binary ops (both operands are tensors; either may be a weight from the params file,
e.g. a mean image in ``broadcast_sub(data, mean)``, which stays an initializer):

    elemwise_add/sub/mul/div (legacy _plus/_minus/_mul/_div, _Plus/_Minus/_Mul/_Div)
        same shapes                                  -> Add / Sub / Mul / Div
    broadcast_add/sub/mul/div/plus/minus/maximum/minimum/power
        MXNet aligns shapes from the right and stretches size-1 axes, which is
        numpy broadcasting, as in ONNX              -> Add / Sub / Mul / Div / Max / Min / Pow

Scalar ops ``op(x, scalar=s)``: MXNet parses ``scalar`` as a double and computes in
the data type, so s becomes a float32 0-d constant. Reversed forms put s first:

    _plus_scalar x + s    _minus_scalar x - s    _rminus_scalar s - x
    _mul_scalar  x * s    _div_scalar   x / s    _rdiv_scalar   s / x
    _power_scalar x ** s  _rpower_scalar s ** x
    _maximum_scalar max(x, s)   _minimum_scalar min(x, s)

``is_int`` only matters for integer tensors (numpy-style ops) and is ignored here.
These often sit right after ``data`` as preprocessing (PITFALL 6); they are always
kept. ``add_n`` / ``ElementWiseSum`` (x1 + x2 + ... + xn) -> Sum.
"""
from __future__ import annotations

from modelport.frontends.mxnet.registry import mxnet_op

BINARY = {
    "elemwise_add": "Add", "_plus": "Add", "_Plus": "Add",
    "elemwise_sub": "Sub", "_minus": "Sub", "_Minus": "Sub",
    "elemwise_mul": "Mul", "_mul": "Mul", "_Mul": "Mul",
    "elemwise_div": "Div", "_div": "Div", "_Div": "Div",
    "broadcast_add": "Add", "broadcast_plus": "Add",
    "broadcast_sub": "Sub", "broadcast_minus": "Sub",
    "broadcast_mul": "Mul", "broadcast_div": "Div",
    "broadcast_maximum": "Max", "broadcast_minimum": "Min", "broadcast_power": "Pow",
}
# op name -> (ONNX op, scalar goes first)
SCALAR = {
    "_plus_scalar": ("Add", False), "_minus_scalar": ("Sub", False), "_rminus_scalar": ("Sub", True),
    "_mul_scalar": ("Mul", False), "_div_scalar": ("Div", False), "_rdiv_scalar": ("Div", True),
    "_power_scalar": ("Pow", False), "_rpower_scalar": ("Pow", True),
    "_maximum_scalar": ("Max", False), "_minimum_scalar": ("Min", False),
}


def _binary(onnx_type: str):
    def convert(ctx):
        if ctx.num_inputs != 2:
            ctx.fail(f"expects 2 inputs, the graph gives {ctx.num_inputs}")
        return [ctx.op(onnx_type, [ctx.input(0), ctx.input(1)])]
    convert.__name__ = f"binary_{onnx_type.lower()}"
    return convert


def _scalar(onnx_type: str, reverse: bool):
    def convert(ctx):
        x, s = ctx.input(0), ctx.const(ctx.attrs.float("scalar"), "scalar")
        return [ctx.op(onnx_type, [s, x] if reverse else [x, s])]
    convert.__name__ = f"scalar_{onnx_type.lower()}{'_reversed' * reverse}"
    return convert


for _name, _onnx in BINARY.items():
    mxnet_op(_name)(_binary(_onnx))
for _name, (_onnx, _reverse) in SCALAR.items():
    mxnet_op(_name)(_scalar(_onnx, _reverse))


@mxnet_op("add_n", "ElementWiseSum")
def add_n(ctx):
    inputs = ctx.inputs()
    if not inputs:
        ctx.fail("has no inputs")
    return [ctx.op("Sum", inputs)]
