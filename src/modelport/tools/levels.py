"""The similarity levels NNIE users work with (PITFALLS 23), shared by reports and dump comparison.

cosine >= 0.99 is fine, 0.95 <= cosine < 0.99 is suspicious, < 0.95 loses accuracy.
"""
from __future__ import annotations

FINE, SUSPICIOUS, BAD = "fine", "suspicious", "bad"
FINE_MIN, SUSPICIOUS_MIN = 0.99, 0.95
COLOURS = {FINE: "#2e9d4a", SUSPICIOUS: "#e39b17", BAD: "#d23a2f", None: "#9aa0a6"}
RICH = {FINE: "green", SUSPICIOUS: "yellow", BAD: "red", None: "dim"}


def level(cosine: float | None) -> str | None:
    """FINE, SUSPICIOUS or BAD; None when there is no value (not compared, NaN)."""
    if cosine is None or cosine != cosine:
        return None
    if cosine >= FINE_MIN:
        return FINE
    return SUSPICIOUS if cosine >= SUSPICIOUS_MIN else BAD
