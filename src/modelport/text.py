"""Small wording helpers shared by messages and reports."""
from __future__ import annotations


def plural(count: int, noun: str, many: str | None = None) -> str:
    """'1 layer', '2 layers', '1 BatchNorm layer has' style counts: ``plural(n, "layer")``."""
    return f"{count} {noun if count == 1 else (many or noun + 's')}"
