"""Cast / cast (MXNet 1.9.1): y = x converted to ``dtype`` (float16/32/64, bfloat16, int8, uint8,
int32, int64, bool). Float to integer truncates toward zero (C++ static_cast, as ONNX Cast);
to bool: non-zero is true. Values outside the target's range are undefined in both."""
from __future__ import annotations

from modelport.frontends.mxnet.ops._dtype import dtype_attr
from modelport.frontends.mxnet.registry import mxnet_op


@mxnet_op("Cast", "cast", schema="Cast", shape_preserving=True)
def cast(ctx):
    return [ctx.op("Cast", [ctx.input(0)], {"to": dtype_attr(ctx).value})]
