"""Pooling: output size by ceil vs floor, average divisor by count_include_pad (PITFALLS 10, 16)."""
from __future__ import annotations

from modelport.verify.diagnose import Hypothesis, rule


@rule("MaxPool", "AveragePool")
def ceil_floor(ctx):
    ceil = int(ctx.node.attrs.get("ceil_mode", 0))
    now, other = ("ceil", "floor") if ceil else ("floor", "ceil")
    size = ""
    if ctx.got.shape != ctx.ref.shape:
        size = f" (shape {tuple(ctx.got.shape)} vs the reference's {tuple(ctx.ref.shape)})"
    yield Hypothesis("pool_ceil_floor", f"{other} instead of {now} rounding",
                     f"pooling output size: the reference rounds with {other}, the candidate with {now}{size}; MXNet "
                     "'valid' is floor, 'full' is ceil, Caffe always ceil - PITFALL 10/16",
                     attrs={"ceil_mode": 1 - ceil})


@rule("AveragePool")
def count_include_pad(ctx):
    if not any(ctx.node.attrs.get("pads", [])):
        return
    include = int(ctx.node.attrs.get("count_include_pad", 0))
    yield Hypothesis("pool_count_include_pad", f"count_include_pad={1 - include} instead of {include}",
                     "average pooling divisor: the reference "
                     f"{'counts' if not include else 'does not count'} the padding cells, the candidate "
                     f"{'does' if include else 'does not'} (MXNet's count_include_pad defaults to True) - PITFALL 10",
                     attrs={"count_include_pad": 1 - include})
