"""Helpers shared by the windowed ops (Convolution, Deconvolution, Pooling); registers nothing."""
from __future__ import annotations

CHANNEL_FIRST = ("NCW", "NCHW", "NCDHW")


def check_channel_first(ctx) -> None:
    layout = ctx.attrs.optional("layout", "str")
    if layout not in (None, *CHANNEL_FIRST):
        ctx.fail(f"layout {layout} is not supported (only channel-first layouts)")


def spatial(ctx, key: str, n: int, fill: int) -> list[int]:
    """A per-spatial-axis attribute (stride, pad, ...): ``fill`` when absent, else exactly n values."""
    values = list(ctx.attrs.ints(key))
    if not values:
        return [fill] * n
    if len(values) != n:
        ctx.fail(f"'{key}' has {len(values)} values for a {n}-D kernel")
    return values
